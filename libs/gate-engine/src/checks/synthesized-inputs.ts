import { SeededRandom, resolveShape, synthesizeTensor, type Feeds, type OnnxSession, type ProbeInput } from '@gatehouse/onnx';
import type { GateContext } from '../gate-context';

/**
 * Concrete shapes for the model's inputs, from its own metadata: the declared
 * schema, then `settings.dimensions`, the batch size for the leading
 * dimension, then `defaultDimension` (the setting's, unless a caller found a size the model runs at). A symbol's size, once chosen
 * for one input, holds for every tensor that names it; `bindings` says what
 * each symbol became.
 */
export function resolveInputs(
  context: GateContext,
  session: OnnxSession,
  batchSize: number,
  defaultDimension = context.settings.defaultDimension,
): { inputs: ProbeInput[]; bindings: Record<string, number> } {
  const resolution = { batchSize, bindings: { ...context.settings.dimensions }, defaultDimension };
  const inputs = session.inputs.map((input) => {
    const declared = context.subject.declaredSchema?.inputs.find((tensor) => tensor.name === input.name);
    const shape = resolveShape(input, resolution, declared);
    input.shape.forEach((dim, index) => {
      if (typeof dim === 'string') resolution.bindings[dim] ??= shape[index];
    });
    return { name: input.name, dtype: input.dtype, shape };
  });
  return { inputs, bindings: resolution.bindings };
}

/** Seeded values for those inputs: every model a run feeds gets the same seed, so inputs they share get the same values. */
export function synthesizedFeeds(context: GateContext, inputs: ProbeInput[]): Feeds {
  const random = new SeededRandom(context.settings.seed);
  return Object.fromEntries(inputs.map((input) => [input.name, synthesizeTensor(input.dtype, input.shape, random)]));
}
