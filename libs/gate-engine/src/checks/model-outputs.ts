import { tensorValues, type OnnxSession } from '@gatehouse/onnx';
import type { GateContext } from '../gate-context';

type Outputs = Awaited<ReturnType<OnnxSession['run']>>;

/**
 * What is wrong with one run's outputs: floating-point values that are NaN or
 * Inf, and shapes that differ from the declared ones (the registrant's schema,
 * else the model's own), with symbolic dimensions held to the sizes the inputs
 * gave them (`bindings`).
 */
export function inspectOutputs(
  context: GateContext,
  session: OnnxSession,
  outputs: Outputs,
  bindings: Record<string, number>,
): { problems: string[]; outputShapes: Record<string, number[]> } {
  const problems: string[] = [];
  const outputShapes: Record<string, number[]> = {};
  for (const spec of session.outputs) {
    const tensor = outputs[spec.name];
    outputShapes[spec.name] = [...tensor.dims];
    const expected = context.subject.declaredSchema?.outputs.find((declared) => declared.name === spec.name)?.shape ?? spec.shape;
    const mismatch = shapeMismatch(expected, [...tensor.dims], bindings);
    if (mismatch) problems.push(`output "${spec.name}" has shape ${JSON.stringify(tensor.dims)}, expected ${JSON.stringify(expected)}: ${mismatch}`);
    if (spec.dtype.startsWith('float') || spec.dtype === 'bfloat16') {
      const values = tensorValues(tensor);
      const nonFinite = values.reduce((count, value) => (Number.isFinite(value) ? count : count + 1), 0);
      if (nonFinite > 0) problems.push(`output "${spec.name}" has ${nonFinite} of ${values.length} values NaN or Inf`);
    }
  }
  return { problems, outputShapes };
}

/** Why an actual shape doesn't fit the expected one, or undefined when it does. */
function shapeMismatch(expected: (number | string | null)[], actual: number[], bindings: Record<string, number>): string | undefined {
  if (expected.length !== actual.length) return `rank ${actual.length}, expected ${expected.length}`;
  for (let index = 0; index < expected.length; index++) {
    const dim = expected[index];
    if (typeof dim === 'number' && dim !== actual[index]) return `dimension ${index} is ${actual[index]}, expected ${dim}`;
    if (typeof dim === 'string' && bindings[dim] !== undefined && bindings[dim] !== actual[index])
      return `dimension ${index} ("${dim}") is ${actual[index]}, but "${dim}" is ${bindings[dim]} in the inputs`;
  }
  return undefined;
}
