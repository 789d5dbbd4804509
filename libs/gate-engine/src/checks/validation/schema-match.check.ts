import type { TensorSpec } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import type { GateReport } from '../../gate-report';
import type { IoSchema } from '../../terms';

const SCHEMA_MATCH_CHECK_ID = 'schema_match';

type Thresholds = { required: boolean };

/** How many tensors of each kind a message lists by name before counting the rest. */
const LISTED_TENSORS = 4;

/**
 * What serving code was promised (the declared schema) against what the
 * model takes and gives. A symbolic dimension in the model accepts a
 * declared size; a fixed one must be declared as exactly that size. With no
 * schema declared, the model's own (from its graph) is the schema: the check
 * passes saying it was inferred, and puts it in its details, where the
 * registry's gate worker takes it to store on the version ({@link inferredSchemaOf}).
 */
export class SchemaMatchCheck implements GateCheck<Thresholds> {
  readonly id = SCHEMA_MATCH_CHECK_ID;
  readonly family = 'validation';
  readonly description =
    "the declared input/output schema equals the model's: names, element types, ranks, fixed dimensions; with none declared, the model's own is inferred from its graph";
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {
    required: { type: 'boolean', description: "fail when the version has no schema: none declared, and the model's graph gives none (a non-tensor or unshaped value)" },
  } as const;
  readonly defaults = { required: false };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const found = await context.ioSchema();
    if (found.source === null) {
      const why = `the version declares no input/output schema and the model's graph gives none: ${found.unreadable.join('; ')}`;
      return thresholds.required
        ? {
            status: 'failed',
            message: `${why}; this stage requires a schema`,
            details: { unreadable: found.unreadable },
            recommendation:
              "Register the version with its input/output schema (gatehouse register --schema schema.json, or \"schema\" in the version's body), written as onnxruntime reports the model's inputs and outputs: model_loads's details list them. Or export the model with every input and output a tensor with a shape.",
          }
        : { status: 'skipped', message: why, details: { unreadable: found.unreadable } };
    }
    const { schema } = found;
    if (found.source === 'inferred') {
      return {
        status: 'passed',
        value: 0,
        threshold: 0,
        message: `no schema declared; inferred from the model: ${describeTensors(schema)}`,
        details: { source: 'inferred', schema },
      };
    }
    const session = await context.session();
    const differences = [...compare('input', schema.inputs, session.inputs), ...compare('output', schema.outputs, session.outputs)];
    if (differences.length > 0) {
      return {
        status: 'failed',
        value: differences.length,
        threshold: 0,
        message: differences.join('; '),
        details: { source: 'declared', differences, declared: schema, model: { inputs: session.inputs, outputs: session.outputs } },
      };
    }
    return {
      status: 'passed',
      value: 0,
      threshold: 0,
      message: `the declared schema matches the model: ${describeTensors(schema)}`,
      details: { source: 'declared' },
    };
  }

  recommend(): string {
    return 'Declare the schema the exported model really has (names, dtypes, shapes as onnxruntime reports them), or fix the export so it matches what clients send.';
  }
}

/**
 * The schema a report's schema_match inferred from the model, if it did: what
 * the registry stores on a version that declared none. The report comes from
 * the sandbox, which ran the candidate model, so its shape is checked, not trusted.
 */
export function inferredSchemaOf(report: Pick<GateReport, 'results'>): IoSchema | null {
  const result = report.results.find((candidate) => candidate.id === SCHEMA_MATCH_CHECK_ID);
  if (result?.status !== 'passed' || result.details?.source !== 'inferred') return null;
  const schema = result.details.schema as Partial<IoSchema> | undefined;
  return schema && isTensorList(schema.inputs) && isTensorList(schema.outputs) ? { inputs: schema.inputs, outputs: schema.outputs } : null;
}

function isTensorList(value: unknown): value is TensorSpec[] {
  return (
    Array.isArray(value) &&
    value.every(
      (tensor: Partial<TensorSpec>) =>
        typeof tensor?.name === 'string' &&
        typeof tensor.dtype === 'string' &&
        Array.isArray(tensor.shape) &&
        tensor.shape.every((dim) => dim === null || typeof dim === 'string' || (Number.isInteger(dim) && dim >= 0)),
    )
  );
}

/** `1 input (features float32 ["batch",8]); 1 output (…)`: a few of each by name, the rest counted. */
function describeTensors(schema: IoSchema): string {
  return `${describeList('input', schema.inputs)}; ${describeList('output', schema.outputs)}`;
}

function describeList(kind: 'input' | 'output', tensors: readonly TensorSpec[]): string {
  const listed = tensors.slice(0, LISTED_TENSORS).map((tensor) => `${tensor.name} ${tensor.dtype} ${JSON.stringify(tensor.shape)}`);
  const more = tensors.length - listed.length;
  return `${tensors.length} ${kind}${tensors.length === 1 ? '' : 's'}${listed.length > 0 ? ` (${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''})` : ''}`;
}

function compare(kind: 'input' | 'output', declared: TensorSpec[], actual: TensorSpec[]): string[] {
  const differences: string[] = [];
  for (const tensor of declared) {
    const model = actual.find((candidate) => candidate.name === tensor.name);
    if (!model) {
      differences.push(`declared ${kind} "${tensor.name}" is not in the model (its ${kind}s: ${actual.map((a) => a.name).join(', ')})`);
      continue;
    }
    if (model.dtype !== tensor.dtype) differences.push(`${kind} "${tensor.name}" is ${model.dtype} in the model, declared ${tensor.dtype}`);
    if (model.shape.length !== tensor.shape.length) {
      differences.push(
        `${kind} "${tensor.name}" has rank ${model.shape.length} in the model ${JSON.stringify(model.shape)}, declared rank ${tensor.shape.length} ${JSON.stringify(tensor.shape)}`,
      );
      continue;
    }
    model.shape.forEach((dim, index) => {
      if (typeof dim === 'number' && tensor.shape[index] !== dim) {
        differences.push(`${kind} "${tensor.name}" dimension ${index} is fixed at ${dim} in the model, declared ${JSON.stringify(tensor.shape[index])}`);
      }
    });
  }
  for (const model of actual) {
    if (!declared.some((tensor) => tensor.name === model.name)) differences.push(`model ${kind} "${model.name}" is not declared`);
  }
  return differences;
}
