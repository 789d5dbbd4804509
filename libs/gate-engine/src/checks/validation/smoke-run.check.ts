import { tensorValues } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { resolveInputs, synthesizedFeeds } from '../synthesized-inputs';

type Thresholds = { maxAbsMean: number; minStd: number; maxStd: number };

/**
 * Runs the model once on inputs made from its own metadata. Outputs must be
 * finite and of the declared shapes; a generative model's samples must also
 * look like samples (not collapsed to a constant, not exploding).
 */
export class SmokeRunCheck implements GateCheck<Thresholds> {
  readonly id = 'smoke_run';
  readonly family = 'validation';
  readonly description = 'a run on synthesised inputs gives finite outputs of the declared shapes';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {
    maxAbsMean: { type: 'number', min: 0, description: 'generative: largest |mean| of the sampled outputs' },
    minStd: { type: 'number', min: 0, description: 'generative: smallest standard deviation of the sampled outputs' },
    maxStd: { type: 'number', min: 0, description: 'generative: largest standard deviation of the sampled outputs' },
  } as const;
  readonly defaults = { maxAbsMean: 3, minStd: 0.1, maxStd: 3 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const session = await context.session();
    // Sample statistics need a real sample; everything else needs only a couple of rows.
    const batchSize = context.task === 'generative' ? context.settings.batchSize : context.settings.smokeBatchSize;
    const { inputs, bindings } = resolveInputs(context, session, batchSize);
    const feeds = synthesizedFeeds(context, inputs);
    const inputShapes = Object.fromEntries(inputs.map((input) => [input.name, input.shape]));
    const outputs = await session.run(feeds);
    const problems: string[] = [];
    const outputShapes: Record<string, number[]> = {};
    const sampled: number[] = [];
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
        for (const value of values) sampled.push(value);
      }
    }
    const statistics = context.task === 'generative' ? sampleStatistics(sampled) : undefined;
    if (statistics && problems.length === 0) {
      if (Math.abs(statistics.mean) >= thresholds.maxAbsMean) problems.push(`samples have mean ${statistics.mean.toFixed(3)}, |mean| must stay below ${thresholds.maxAbsMean}`);
      if (statistics.std <= thresholds.minStd)
        problems.push(`samples have standard deviation ${statistics.std.toFixed(3)}, at most the floor ${thresholds.minStd}: outputs have collapsed`);
      if (statistics.std >= thresholds.maxStd)
        problems.push(`samples have standard deviation ${statistics.std.toFixed(3)}, at least the ceiling ${thresholds.maxStd}: outputs are exploding`);
    }
    const details = { inputShapes, outputShapes, ...(statistics ? { sampleStatistics: statistics } : {}) };
    if (problems.length > 0) return { status: 'failed', value: problems.length, threshold: 0, message: problems.join('; '), details };
    return {
      status: 'passed',
      value: 0,
      threshold: 0,
      message: `ran on ${Object.entries(inputShapes)
        .map(([name, shape]) => `${name} ${JSON.stringify(shape)}`)
        .join(', ')}: outputs finite and shaped as declared`,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    if (result.details?.sampleStatistics) return "The sampler's outputs are out of range: check the final activation and any output scaling in the exported graph.";
    return 'Run the model on random inputs locally: NaN or Inf at run time usually comes from log/sqrt/division of invalid values or overflow in float16; a shape mismatch means the export or the declared schema is wrong.';
  }
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

function sampleStatistics(values: number[]): { mean: number; std: number; count: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance), count: values.length };
}
