import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { OnnxModel, OnnxSession } from '@gatehouse/onnx';
import { standardFixtures, type ModelFixture } from '../../../../../test/fixtures/onnx-models';
import { GATE_CHECKS } from '..';
import { LaunchedChromium, type BrowserLease } from '../../browser/chromium';
import type { CheckResult, GateCheck } from '../../check';
import { GateContext } from '../../gate-context';
import { GateEngine } from '../../gate-engine';
import { GatePolicy } from '../../gate-policy';
import { runInSandbox } from '../../sandbox';
import { DEFAULT_GATE_SETTINGS } from '../../gate-settings';
import { BrowserCompatCheck, missingOperator } from './browser-compat.check';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const DOUBLE = onnx.TensorProto.DataType.DOUBLE;

/**
 * x [batch, 8, 4, 4] -> ReorderInput -> ReorderOutput -> y: the NCHWc layout
 * ops onnxruntime inserts when it saves a graph optimised on x86. Its CPU
 * build has them, the WASM build does not.
 */
function nchwcModel(): Uint8Array {
  return unaryModel(
    [
      { opType: 'ReorderInput', domain: 'com.microsoft.nchwc', input: ['x'], output: ['blocked'], name: 'to_nchwc' },
      {
        opType: 'ReorderOutput',
        domain: 'com.microsoft.nchwc',
        input: ['blocked'],
        output: ['y'],
        name: 'from_nchwc',
        attribute: [{ name: 'channels', type: onnx.AttributeProto.AttributeType.INT, i: 8 }],
      },
    ],
    { elemType: FLOAT, shape: ['batch', 8, 4, 4], domains: ['com.microsoft.nchwc'] },
  );
}

/** One node `opType` from x to y, for the messages onnxruntime gives when it refuses an operator. */
function singleNodeModel(opType: string, options: { domain?: string; elemType?: number } = {}): Uint8Array {
  const domain = options.domain ?? '';
  return unaryModel([{ opType, domain, input: ['x'], output: ['y'], name: 'only' }], { elemType: options.elemType ?? FLOAT, shape: ['batch', 4], domains: domain ? [domain] : [] });
}

function unaryModel(node: onnx.INodeProto[], options: { elemType: number; shape: (number | string)[]; domains: string[] }): Uint8Array {
  const valueInfo = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: options.elemType, shape: { dim: options.shape.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })) } } },
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'gatehouse-browser-compat-spec',
    opsetImport: [{ domain: '', version: 17 }, ...options.domains.map((domain) => ({ domain, version: 1 }))],
    graph: { name: 'browser_compat', node, input: [valueInfo('x')], output: [valueInfo('y')] },
  });
  return onnx.ModelProto.encode(proto).finish();
}

// One browser for the file (only the sandbox test starts one of its own), launched as the check launches its own; each run borrows it and leaves it open.
let browser: BrowserLease;
let shared: BrowserCompatCheck;
let workspace: string;
beforeAll(async () => {
  browser = await new LaunchedChromium().acquire();
  shared = new BrowserCompatCheck({ acquire: () => Promise.resolve({ browser: browser.browser, release: () => Promise.resolve() }) });
});
afterAll(() => browser?.release());
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'gatehouse-browser-compat-'));
});
afterEach(() => rm(workspace, { recursive: true, force: true }));

/** Runs a policy's stage against a model written to a fresh directory, with the engine's checks but this file's browser_compat. */
async function gate(files: Uint8Array | Record<string, Uint8Array>, checks: Record<string, object>, browserCompat: GateCheck = shared): Promise<CheckResult[]> {
  const written = files instanceof Uint8Array ? { 'model.onnx': files } : files;
  for (const [path, bytes] of Object.entries(written)) await writeFile(join(workspace, path), bytes);
  const policy = GatePolicy.parse({ stages: { registered: { checks } } }, GATE_CHECKS).resolve('registered', 'classification');
  const context = new GateContext(
    {
      model: 'fixture',
      version: '1.0.0',
      task: 'classification',
      declaredSchema: null,
      reportedMetrics: {},
      files: Object.entries(written).map(([path, bytes]) => ({ path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length })),
    },
    workspace,
    [],
    DEFAULT_GATE_SETTINGS,
  );
  const report = await new GateEngine(GATE_CHECKS.map((check) => (check.id === 'browser_compat' ? browserCompat : check))).run(context, policy);
  return report.results;
}

/** The model with every initializer's bytes moved to one external data file beside it, as exporters do for large models. */
function withExternalData(bytes: Uint8Array, location: string): Record<string, Uint8Array> {
  const proto = onnx.ModelProto.decode(bytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of proto.graph?.initializer ?? []) {
    const data = tensor.rawData ?? new Uint8Array(0);
    tensor.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.length) },
    ];
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.rawData = new Uint8Array(0);
    chunks.push(data);
    offset += data.length;
  }
  return { 'model.onnx': onnx.ModelProto.encode(proto).finish(), [location]: Buffer.concat(chunks) };
}

const browserCompat = (results: CheckResult[]) => results.find((result) => result.id === 'browser_compat')!;

describe('browser_compat', () => {
  const classifier: ModelFixture = standardFixtures().classifier.model;

  it('passes a model onnxruntime-web computes as onnxruntime-node does', async () => {
    const result = browserCompat(await gate(classifier.bytes, { model_loads: {}, browser_compat: {} }));
    expect(result).toMatchObject({
      status: 'passed',
      threshold: 1e-4,
      message: expect.stringMatching(/^onnxruntime-web 1\.30\.0 \(WASM\) in Chromium \d+.* matches onnxruntime-node within/),
    });
    expect(result.value).toBeLessThanOrEqual(1e-4);
    expect(result.details).toMatchObject({
      webRuntime: 'onnxruntime-web 1.30.0 (WASM)',
      inputs: 'synthesised inputs features [2,8] (unnamed dimensions 16)',
      inputShapes: { features: [2, 8] },
      mismatches: [],
    });
    expect(result.details?.worst).toMatchObject({ output: 'probabilities' });
  });

  it('serves the external data the model names to the browser', async () => {
    const result = browserCompat(await gate(withExternalData(classifier.bytes, 'classifier.weights'), { model_loads: {}, browser_compat: {} }));
    expect(result).toMatchObject({ status: 'passed', message: expect.stringContaining('matches onnxruntime-node') });
  });

  it('fails where the outputs differ by more than maxAbsDiff, naming where', async () => {
    // WASM's Tanh and the native one round differently (~1e-7 here): within the default, over a stricter limit.
    const result = browserCompat(await gate(standardFixtures().generative.model.bytes, { browser_compat: { thresholds: { maxAbsDiff: 1e-9 } } }));
    expect(result).toMatchObject({
      status: 'failed',
      threshold: 1e-9,
      message: expect.stringMatching(
        /^onnxruntime-web 1\.30\.0 differs from onnxruntime-node by up to .* \(output "sample"\[\d+\]: .* in the browser, .* in Node\), more than 1e-9$/,
      ),
    });
    expect(result.value).toBeGreaterThan(1e-9);
    expect(result.value).toBeLessThanOrEqual(1e-4);
  });

  it('fails naming the operator the WASM build lacks, which onnxruntime-node runs', async () => {
    const results = await gate(nchwcModel(), { model_loads: {}, browser_compat: {} });
    expect(results.find((result) => result.id === 'model_loads')?.status).toBe('passed');
    const result = browserCompat(results);
    expect(result).toMatchObject({
      status: 'failed',
      value: 'com.microsoft.nchwc:ReorderInput',
      message: expect.stringContaining('onnxruntime-web 1.30.0 (WASM) lacks operator com.microsoft.nchwc:ReorderInput (node "to_nchwc")'),
      details: { unsupportedOperator: { domain: 'com.microsoft.nchwc', opType: 'ReorderInput', node: 'to_nchwc', opset: null } },
      recommendation: expect.stringContaining('com.microsoft.nchwc'),
    });
  });

  it('errors, never passes, where Chromium is not installed', async () => {
    const missing = new BrowserCompatCheck(new LaunchedChromium(join(workspace, 'no-chromium')));
    const result = browserCompat(await gate(classifier.bytes, { browser_compat: {} }, missing));
    expect(result).toMatchObject({
      status: 'error',
      message: expect.stringContaining(`Chromium is not installed at ${join(workspace, 'no-chromium')}: install it (apt-get install chromium)`),
      recommendation: expect.stringContaining('apt-get install chromium'),
    });
  });

  it('runs in the gate sandbox at its smallest memory limit, Chromium started outside it', async () => {
    // Launched straight from the sandboxed child, Chromium does not start under 256 MiB; the check starts it through the sandbox's launcher.
    const bytes = classifier.bytes;
    await writeFile(join(workspace, 'model.onnx'), bytes);
    const policy = GatePolicy.parse({ settings: { memoryLimitMiB: 256 }, stages: { registered: { checks: { model_loads: {}, browser_compat: {} } } } }, GATE_CHECKS);
    const report = await runInSandbox({
      subject: {
        model: 'fixture',
        version: '1.0.0',
        task: 'classification',
        declaredSchema: null,
        reportedMetrics: {},
        files: [{ path: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }],
      },
      workspace,
      datasets: [],
      policy: policy.resolve('registered', 'classification'),
    });
    expect(browserCompat(report.results)).toMatchObject({ status: 'passed', message: expect.stringContaining('matches onnxruntime-node') });
  });

  it('is in no stage of the shipped policy, and a policy that lists it may set maxAbsDiff', () => {
    const shipped = GatePolicy.load(join(__dirname, '../../../../../config/gates.json'), GATE_CHECKS);
    for (const stage of shipped.stageNames) expect(shipped.resolve(stage, 'classification').checks.map((check) => check.id)).not.toContain('browser_compat');
    const required = GatePolicy.parse({ stages: { production: { checks: { browser_compat: { thresholds: { maxAbsDiff: 1e-5 } } } } } }, GATE_CHECKS);
    expect(required.resolve('production', 'classification').checks).toEqual([{ id: 'browser_compat', severity: 'critical', thresholds: { maxAbsDiff: 1e-5 } }]);
  });
});

describe('missingOperator', () => {
  /** What onnxruntime-node says refusing the model: the same messages the WASM build gives. */
  async function refusal(bytes: Uint8Array): Promise<{ message: string; model: OnnxModel }> {
    const error = await OnnxSession.load(bytes).then(
      () => new Error('onnxruntime-node loaded the model'),
      (refused: Error) => refused,
    );
    return { message: error.message, model: OnnxModel.parse(bytes) };
  }

  it.each([
    ['no kernel for the element type', singleNodeModel('Erf', { elemType: DOUBLE }), { domain: '', opType: 'Erf', node: 'only', opset: 13 }],
    [
      'an unknown op in another domain',
      singleNodeModel('NoSuchOperator', { domain: 'com.example' }),
      { domain: 'com.example', opType: 'NoSuchOperator', node: 'only', opset: null },
    ],
    ['an unknown op in the default domain', singleNodeModel('NoSuchOperator'), { domain: '', opType: 'NoSuchOperator', node: 'only', opset: 17 }],
  ])('names the operator for %s', async (_, bytes, expected) => {
    const { message, model } = await refusal(bytes);
    expect(missingOperator(message, model)).toEqual(expected);
  });

  it('names none where the refusal is about something else', async () => {
    const { model } = await refusal(singleNodeModel('Erf', { elemType: DOUBLE }));
    expect(missingOperator('Can\u2019t create a session. ERROR_CODE: 7, ERROR_MESSAGE: protobuf parsing failed.', model)).toBeNull();
  });
});
