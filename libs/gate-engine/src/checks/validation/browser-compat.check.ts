import { posix } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { externalDataOf, float16Bits, tensorValues, type Feeds, type OnnxModel } from '@gatehouse/onnx';
import { ChromiumMissingError, LaunchedChromium, type BrowserSource } from '../../browser/chromium';
import type { WebModel, WebRun, WireTensor } from '../../browser/onnx-web-runtime';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { modelFeeds } from '../model-inputs';

type Thresholds = { maxAbsDiff: number };

/** An operator onnxruntime said it cannot run, as its message names it; the node and domain filled in from the model where the message leaves them out. */
export interface MissingOperator {
  domain: string;
  opType: string;
  node: string | null;
  /** The opset version the runtime looked for a kernel of, where it says. */
  opset: number | null;
}

/** Where the browser's outputs are furthest from onnxruntime-node's. */
interface OutputComparison {
  maxAbsDiff: number;
  worst: { output: string; index: number; node: number; browser: number } | null;
  /** Outputs that cannot be compared number by number: missing, another shape or type, different strings. */
  mismatches: string[];
}

/**
 * For models served in the browser: onnxruntime-web's WASM backend, in
 * headless Chromium, must load the model and compute what onnxruntime-node
 * computes on the same inputs. Names the operator the web runtime lacks,
 * as the runtime itself reports it. No stage runs it by default; a policy
 * that serves a model in browsers lists it.
 */
export class BrowserCompatCheck implements GateCheck<Thresholds> {
  readonly id = 'browser_compat';
  readonly family = 'validation';
  readonly description = 'onnxruntime-web (WASM) in headless Chromium loads the model and matches onnxruntime-node on the same inputs';
  readonly severity = 'critical';
  // Inputs the smoke run could not run the model on would only fail here again.
  readonly requires = ['model_loads', 'smoke_run'];
  readonly thresholds = { maxAbsDiff: { type: 'number', min: 0, description: "largest absolute difference between the browser's outputs and onnxruntime-node's" } } as const;
  readonly defaults = { maxAbsDiff: 1e-4 };

  constructor(private readonly browsers: BrowserSource = new LaunchedChromium()) {}

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const modelPath = context.modelPath;
    if (!modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const session = await context.session();
    const fed = await modelFeeds(context, session, { batchSize: context.settings.smokeBatchSize });
    const feeds = fed.feeds[0];
    const expected = await session.run(feeds);
    const model = await context.onnxModel();
    const web = await this.runInBrowser(context, { path: context.absolutePath(modelPath), externalData: externalDataFiles(model, modelPath, context) }, wireFeeds(feeds));
    const details: Record<string, unknown> = {
      webRuntime: `onnxruntime-web ${web.runtime} (WASM)`,
      browser: `Chromium ${web.browser}`,
      inputs: fed.description,
      inputShapes: fed.shapes[0],
    };
    const runtime = `onnxruntime-web ${web.runtime}`;
    if (!web.ok) {
      const missing = missingOperator(web.message, model);
      details.runtimeMessage = web.message;
      if (missing) {
        details.unsupportedOperator = missing;
        return { status: 'failed', value: operatorName(missing), message: `${runtime} (WASM) lacks operator ${describe(missing)}: ${web.message}`, details };
      }
      return { status: 'failed', message: `${runtime} (WASM) could not ${web.stage === 'load' ? 'load' : 'run'} the model: ${web.message}`, details };
    }
    const comparison = compareOutputs(expected, web.outputs);
    Object.assign(details, comparison);
    if (comparison.mismatches.length > 0) return { status: 'failed', threshold: thresholds.maxAbsDiff, message: comparison.mismatches.join('; '), details };
    const value = comparison.maxAbsDiff;
    const worst = comparison.worst;
    if (worst && !(value <= thresholds.maxAbsDiff)) {
      return {
        status: 'failed',
        value,
        threshold: thresholds.maxAbsDiff,
        message: `${runtime} differs from onnxruntime-node by up to ${comparison.maxAbsDiff.toExponential(2)} (output "${worst.output}"[${worst.index}]: ${worst.browser} in the browser, ${worst.node} in Node), more than ${thresholds.maxAbsDiff}`,
        details,
      };
    }
    return {
      status: 'passed',
      value,
      threshold: thresholds.maxAbsDiff,
      message: `${runtime} (WASM) in Chromium ${web.browser} matches onnxruntime-node within ${comparison.maxAbsDiff.toExponential(2)} on synthesised inputs`,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    const details = result.details ?? {};
    if (details.error === ChromiumMissingError.name) return 'Install Chromium on the gate host (Debian: apt-get install chromium), or drop browser_compat from the policy.';
    if (details.error) return "The check could not drive the browser (see the message): look at the gate host's Chromium and onnxruntime-web install.";
    if (details.unsupportedOperator) {
      return 'Export the model without that operator for the browser: an opset or element type onnxruntime-web supports, and no graph saved after onnxruntime optimisations that insert CPU-specific ops (com.microsoft.nchwc); or serve it from a server instead.';
    }
    if (details.runtimeMessage)
      return "onnxruntime-web refused the model (see the runtime's message): a model too large for WASM memory (4 GiB), external data it could not fetch, or an input or output type it does not take.";
    return "The WASM kernels compute differently from the native ones: look for precision-sensitive ops (float16, large reductions, Tanh/Erf/Exp approximations), or loosen maxAbsDiff if the difference is acceptable for the model's use.";
  }

  /** One browser lease for the run; an abandoned run (timeout) gives it back at once, which ends the page's work. */
  private async runInBrowser(context: GateContext, model: WebModel, feeds: Record<string, WireTensor>): Promise<WebRun> {
    const lease = await this.browsers.acquire();
    const release = () => void lease.release().catch(() => undefined);
    context.signal.addEventListener('abort', release, { once: true });
    try {
      // Abandoned while the browser started: the listener came too late to hear it.
      context.signal.throwIfAborted();
      // Loaded here, not with the engine: a gate whose policy runs no browser starts without the page's HTTP server code.
      const { runInWebRuntime } = await import('../../browser/onnx-web-runtime');
      return await runInWebRuntime(lease.browser, model, feeds);
    } finally {
      context.signal.removeEventListener('abort', release);
      await lease.release();
    }
  }
}

const MISSING_OPERATOR_MESSAGES: { pattern: RegExp; read: (match: RegExpMatchArray) => Omit<MissingOperator, 'node'> & { node?: string } }[] = [
  // A kernel is missing for the op at this opset with these element types.
  {
    pattern: /Could not find an implementation for (\S+)\((\d+)\) node with name '([^']*)'/,
    read: ([, opType, opset, node]) => ({ domain: '', opType, opset: Number(opset), node }),
  },
  // No schema for the op in its (non-default) domain.
  { pattern: /([\w.]*):(\w+)\(-?\d+\) is not a registered function\/op/, read: ([, domain, opType]) => ({ domain, opType, opset: null }) },
  // No schema for the op in the default domain.
  { pattern: /No Op registered for (\S+) with domain_version of (\d+)/, read: ([, opType, opset]) => ({ domain: '', opType, opset: Number(opset) }) },
];

/** The operator an onnxruntime error says it cannot run, or null when the error is about something else. */
export function missingOperator(message: string, model: OnnxModel): MissingOperator | null {
  for (const { pattern, read } of MISSING_OPERATOR_MESSAGES) {
    const match = message.match(pattern);
    if (!match) continue;
    const named = read(match);
    const node = findNode(model, (candidate) => (named.node ? candidate.name === named.node : candidate.opType === named.opType && (candidate.domain ?? '') === named.domain));
    return { domain: node?.domain ?? named.domain, opType: named.opType, node: named.node || node?.name || null, opset: named.opset };
  }
  return null;
}

function findNode(model: OnnxModel, matches: (node: { name?: string | null; opType?: string | null; domain?: string | null }) => boolean) {
  for (const { graph } of model.graphs()) {
    const node = (graph.node ?? []).find(matches);
    if (node) return node;
  }
  return undefined;
}

function operatorName(operator: MissingOperator): string {
  return operator.domain ? `${operator.domain}:${operator.opType}` : operator.opType;
}

function describe(operator: MissingOperator): string {
  const where = [operator.node ? `node "${operator.node}"` : null, operator.opset !== null ? `opset ${operator.opset}` : null].filter(Boolean).join(', ');
  return where ? `${operatorName(operator)} (${where})` : operatorName(operator);
}

/** The model's external data files the manifest lists, by the location the model names: onnxruntime-web fetches each by that name. */
function externalDataFiles(model: OnnxModel, modelPath: string, context: GateContext): Record<string, string> {
  const listed = new Set(context.subject.files.map((file) => file.path));
  const files: Record<string, string> = {};
  for (const { graph } of model.graphs()) {
    for (const tensor of graph.initializer ?? []) {
      const location = externalDataOf(tensor)?.location;
      if (!location) continue;
      const path = posix.normalize(posix.join(posix.dirname(modelPath), location));
      if (listed.has(path)) files[location] = context.absolutePath(path);
    }
  }
  return files;
}

function wireFeeds(feeds: Feeds): Record<string, WireTensor> {
  // Playwright carries no Float16Array, which node 24's onnxruntime may hold float16 feeds in: the page gets the bits.
  return Object.fromEntries(
    Object.entries(feeds).map(([name, tensor]) => [name, { type: tensor.type, dims: [...tensor.dims], data: tensor.type === 'float16' ? float16Bits(tensor) : tensor.data }]),
  );
}

function compareOutputs(expected: Feeds, actual: Record<string, WireTensor>): OutputComparison {
  const comparison: OutputComparison = { maxAbsDiff: 0, worst: null, mismatches: [] };
  for (const [name, tensor] of Object.entries(expected)) {
    const other = actual[name];
    if (!other) {
      comparison.mismatches.push(`the browser returned no output "${name}"`);
      continue;
    }
    if (other.type !== tensor.type || other.dims.join() !== tensor.dims.join()) {
      comparison.mismatches.push(
        `output "${name}" is ${other.type} ${JSON.stringify(other.dims)} in the browser, ${tensor.type} ${JSON.stringify(tensor.dims)} in onnxruntime-node`,
      );
      continue;
    }
    if (tensor.type === 'string') {
      const strings = tensor.data as string[];
      const index = strings.findIndex((value, position) => value !== (other.data as string[])[position]);
      if (index >= 0)
        comparison.mismatches.push(
          `output "${name}"[${index}] is ${JSON.stringify((other.data as string[])[index])} in the browser, ${JSON.stringify(strings[index])} in onnxruntime-node`,
        );
      continue;
    }
    const nodeValues = tensorValues(tensor);
    const browserValues = tensorValues(new Tensor(other.type, other.data, other.dims));
    nodeValues.forEach((value, index) => {
      const difference = differenceOf(value, browserValues[index]);
      if (comparison.worst === null || difference > comparison.maxAbsDiff) {
        comparison.maxAbsDiff = difference;
        comparison.worst = { output: name, index, node: value, browser: browserValues[index] };
      }
    });
  }
  return comparison;
}

/** Equal values (the same infinity, NaN and NaN) differ by 0; NaN against a number by Infinity, so it cannot pass. */
function differenceOf(a: number, b: number): number {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  return Math.abs(a - b);
}
