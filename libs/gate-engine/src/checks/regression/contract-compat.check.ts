// The two functions alone: all of semver is 47 modules, loaded by every gate's sandbox.
import lte from 'semver/functions/lte';
import parse from 'semver/functions/parse';
import type { TensorSpec } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import type { ComparisonRow } from '../../gate-report';
import type { IoSchema, SchemaSource } from '../../terms';
import { baselineOf, refOf } from './comparison';

/** One way the candidate's inputs or outputs differ from production's. */
export interface ContractChange {
  kind: 'input' | 'output';
  name: string;
  change: 'added' | 'removed' | 'element_type' | 'rank' | 'dimension';
  baseline?: unknown;
  candidate?: unknown;
  description: string;
}

const RULE = 'a major version bump when the contract changes';

const SOURCE_PHRASES: Record<SchemaSource | 'onnxruntime', string> = {
  declared: 'declared',
  inferred: 'inferred from its model',
  onnxruntime: 'as onnxruntime reads its model (the graph gives no schema)',
};

/**
 * The contract clients code against: each version's schema (names, element
 * types, ranks, fixed dimensions), declared or, where none was, inferred from
 * its model's graph; a declaration may fix what the model leaves symbolic,
 * and clients were promised the declaration (schema_match holds it to the
 * model). A version with neither (a sequence output, which no schema can
 * describe) is compared as onnxruntime reports its model. A change breaks
 * clients, so semver says it takes a major bump.
 */
export class ContractCompatCheck implements GateCheck {
  readonly id = 'contract_compat';
  readonly family = 'regression';
  readonly description =
    'a change of the input/output schema (declared, else inferred from the model) against the version in production (names, element types, ranks, fixed dimensions) comes with a major version bump';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    const production = refOf(baseline);
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    if (!baseline.modelPath) return { status: 'skipped', message: `production version ${production} has no ONNX file to compare with` };
    const [{ schema: before, source: baselineSource }, { schema: after, source: candidateSource }] = [await contractOf(baseline), await contractOf(context)];
    const changes = [...contractChanges('input', before.inputs, after.inputs), ...contractChanges('output', before.outputs, after.outputs)];
    const compared = `schemas compared: production's ${SOURCE_PHRASES[baselineSource]}, the candidate's ${SOURCE_PHRASES[candidateSource]}`;
    const bump = describeBump(baseline.subject.version, context.subject.version);
    const row = (verdict: ComparisonRow['verdict']): ComparisonRow => ({
      metric: 'input/output contract',
      baseline: `${baseline.subject.version} (${baselineSource}): ${count(before.inputs.length, 'input')}, ${count(before.outputs.length, 'output')}`,
      candidate: `${context.subject.version} (${candidateSource}): ${changes.length === 0 ? 'unchanged' : count(changes.length, 'change')} (${bump.description})`,
      ratio: null,
      threshold: RULE,
      verdict,
    });
    const details = {
      baseline: { model: baseline.subject.model, version: baseline.subject.version, schemaSource: baselineSource },
      candidate: { schemaSource: candidateSource },
      bump: bump.description,
      changes,
    };
    if (changes.length === 0) {
      return {
        status: 'passed',
        value: 0,
        threshold: null,
        message: `inputs and outputs unchanged from production ${production} (${compared})`,
        details: { ...details, comparison: row('passed') },
      };
    }
    const listed = changes.map((change) => change.description).join('; ');
    if (bump.major) {
      return {
        status: 'passed',
        value: changes.length,
        threshold: null,
        message: `${count(changes.length, 'contract change')} from production ${production}, allowed by the ${bump.description} (${compared}): ${listed}`,
        details: { ...details, comparison: row('passed') },
      };
    }
    return {
      status: 'failed',
      value: changes.length,
      threshold: 0,
      message: `the input/output contract changed from production ${production} under ${bump.description}, and a change needs a major version bump (${compared}): ${listed}`,
      details: { ...details, comparison: row('failed') },
    };
  }

  recommend(): string {
    return 'Clients of the production model would break: keep the inputs and outputs as they are, or register the model as the next major version so callers know to adapt.';
  }
}

/** A version's schema as the contract compares it, and where it came from: declared, inferred, or onnxruntime's description. */
async function contractOf(context: GateContext): Promise<{ schema: IoSchema; source: SchemaSource | 'onnxruntime' }> {
  const found = await context.ioSchema();
  if (found.source !== null) return found;
  const session = await context.session();
  return { schema: { inputs: session.inputs, outputs: session.outputs }, source: 'onnxruntime' };
}

/** What differs between production's tensors and the candidate's, named one by one. */
export function contractChanges(kind: 'input' | 'output', baseline: readonly TensorSpec[], candidate: readonly TensorSpec[]): ContractChange[] {
  const changes: ContractChange[] = [];
  for (const before of baseline) {
    const after = candidate.find((tensor) => tensor.name === before.name);
    if (!after) {
      changes.push({ kind, name: before.name, change: 'removed', baseline: before, description: `removed ${kind} "${before.name}"` });
      continue;
    }
    if (after.dtype !== before.dtype) {
      changes.push({
        kind,
        name: before.name,
        change: 'element_type',
        baseline: before.dtype,
        candidate: after.dtype,
        description: `${kind} "${before.name}" element type ${before.dtype} → ${after.dtype}`,
      });
    }
    if (after.shape.length !== before.shape.length) {
      changes.push({
        kind,
        name: before.name,
        change: 'rank',
        baseline: before.shape,
        candidate: after.shape,
        description: `${kind} "${before.name}" rank ${before.shape.length} → ${after.shape.length} (${shape(before.shape)} → ${shape(after.shape)})`,
      });
      continue;
    }
    before.shape.forEach((dim, index) => {
      const now = after.shape[index];
      // Two symbolic dimensions accept the same sizes whatever they are called; a fixed one on either side is a promise.
      if (dim === now || (typeof dim !== 'number' && typeof now !== 'number')) return;
      changes.push({
        kind,
        name: before.name,
        change: 'dimension',
        baseline: dim,
        candidate: now,
        description: `${kind} "${before.name}" dimension ${index} ${dimension(dim)} → ${dimension(now)}`,
      });
    });
  }
  for (const after of candidate) {
    if (!baseline.some((tensor) => tensor.name === after.name))
      changes.push({ kind, name: after.name, change: 'added', candidate: after, description: `added ${kind} "${after.name}"` });
  }
  return changes;
}

/** Whether `to` is a later major version than `from`, and how to say what the bump is. */
function describeBump(from: string, to: string): { major: boolean; description: string } {
  const [before, after] = [parse(from), parse(to)];
  if (!before || !after) return { major: false, description: `versions ${from} → ${to}, which are not both semantic versions` };
  if (after.major > before.major) return { major: true, description: `major bump ${from} → ${to}` };
  if (lte(to, from)) return { major: false, description: `${from} → ${to}, not a later version` };
  // Same major: semver.diff would call 2.0.0-rc.1 → 2.0.0 "major", which it is not here.
  const kind = after.minor !== before.minor ? 'minor' : after.patch !== before.patch ? 'patch' : 'pre-release';
  return { major: false, description: `a ${kind} bump ${from} → ${to}` };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function shape(dims: TensorSpec['shape']): string {
  return `[${dims.map(dimension).join(', ')}]`;
}

function dimension(dim: TensorSpec['shape'][number]): string {
  return dim === null ? '?' : typeof dim === 'number' ? String(dim) : `"${dim}"`;
}
