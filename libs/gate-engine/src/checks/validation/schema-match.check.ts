import type { TensorSpec } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

type Thresholds = { required: boolean };

/**
 * What serving code was promised (the declared schema) against what the
 * model takes and gives. A symbolic dimension in the model accepts a
 * declared size; a fixed one must be declared as exactly that size.
 */
export class SchemaMatchCheck implements GateCheck<Thresholds> {
  readonly id = 'schema_match';
  readonly family = 'validation';
  readonly description = "the declared input/output schema equals the model's: names, element types, ranks, fixed dimensions";
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = { required: { type: 'boolean', description: 'fail when the version declares no schema' } } as const;
  readonly defaults = { required: false };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const declared = context.subject.declaredSchema;
    if (!declared) {
      return thresholds.required
        ? {
            status: 'failed',
            message: 'the version declares no input/output schema and this stage requires one',
            recommendation:
              "Register the version with its input/output schema (gatehouse register --schema schema.json, or \"schema\" in the version's body), written as onnxruntime reports the model's inputs and outputs: model_loads's details list them.",
          }
        : { status: 'skipped', message: 'the version declares no input/output schema' };
    }
    const session = await context.session();
    const differences = [...compare('input', declared.inputs, session.inputs), ...compare('output', declared.outputs, session.outputs)];
    if (differences.length > 0) {
      return {
        status: 'failed',
        value: differences.length,
        threshold: 0,
        message: differences.join('; '),
        details: { differences, declared, model: { inputs: session.inputs, outputs: session.outputs } },
      };
    }
    return { status: 'passed', value: 0, threshold: 0, message: `${declared.inputs.length} inputs and ${declared.outputs.length} outputs match the model` };
  }

  recommend(): string {
    return 'Declare the schema the exported model really has (names, dtypes, shapes as onnxruntime reports them), or fix the export so it matches what clients send.';
  }
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
