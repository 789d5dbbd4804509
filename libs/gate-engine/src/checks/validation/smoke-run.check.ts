import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { inspectOutputs } from '../model-outputs';
import { resolveInputs, synthesizedFeeds } from '../synthesized-inputs';

/**
 * Runs the model once on inputs made from its own metadata. Outputs must be
 * finite and of the declared shapes (a generative model's samples are judged
 * one by one by sample_quality).
 */
export class SmokeRunCheck implements GateCheck {
  readonly id = 'smoke_run';
  readonly family = 'validation';
  readonly description = 'a run on synthesised inputs gives finite outputs of the declared shapes';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const session = await context.session();
    const { inputs, bindings } = resolveInputs(context, session, context.settings.smokeBatchSize);
    const feeds = synthesizedFeeds(context, inputs);
    const inputShapes = Object.fromEntries(inputs.map((input) => [input.name, input.shape]));
    const { problems, outputShapes } = inspectOutputs(context, session, await session.run(feeds), bindings);
    const details = { inputShapes, outputShapes };
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

  recommend(): string {
    return 'Run the model on random inputs locally: NaN or Inf at run time usually comes from log/sqrt/division of invalid values or overflow in float16; a shape mismatch means the export or the declared schema is wrong.';
  }
}
