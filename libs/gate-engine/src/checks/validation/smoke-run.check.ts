import type { CheckOutcome, GateCheck } from '../../check';
import { DatasetFormatError } from '../../evaluation';
import type { GateContext } from '../../gate-context';
import type { DatasetRole } from '../../terms';
import { inspectOutputs } from '../model-outputs';
import { modelFeeds, SynthesisedRunError, type ModelFeeds } from '../model-inputs';

/**
 * Runs the model on every input example the version carries (a NaN may show
 * on only one of them), or once on inputs synthesised from its metadata.
 * Outputs must be finite and of the declared shapes (a generative model's
 * samples are judged one by one by sample_quality). A model that cannot run
 * on synthesised inputs at any size tried fails with its own error.
 */
export class SmokeRunCheck implements GateCheck {
  readonly id = 'smoke_run';
  readonly family = 'validation';
  readonly description = 'a run on each input example, or on synthesised inputs, gives finite outputs of the declared shapes';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const session = await context.session();
    let inputs: ModelFeeds;
    try {
      inputs = await modelFeeds(context, session, { batchSize: context.settings.smokeBatchSize, all: true });
    } catch (error) {
      if (error instanceof SynthesisedRunError) {
        const tried = error.attempts.map((attempt) => attempt.dimension).join(', ');
        return {
          status: 'failed',
          value: 1,
          threshold: 0,
          message: `${error.message} (unnamed dimensions tried: ${tried})`,
          details: { cause: 'synthesised_inputs', attempts: error.attempts },
        };
      }
      if (error instanceof DatasetFormatError) return { status: 'failed', value: 1, threshold: 0, message: error.message, details: { cause: 'input_examples' } };
      throw error;
    }
    const problems: string[] = [];
    const runs: { inputs: string; inputShapes: Record<string, number[]>; outputShapes?: Record<string, number[]> }[] = [];
    for (const [index, feeds] of inputs.feeds.entries()) {
      const label = inputs.labels[index];
      try {
        const inspected = inspectOutputs(context, session, await session.run(feeds), inputs.bindings);
        problems.push(...inspected.problems.map((problem) => `${label}: ${problem}`));
        runs.push({ inputs: label, inputShapes: inputs.shapes[index], outputShapes: inspected.outputShapes });
      } catch (error) {
        problems.push(`${label}: the run failed: ${(error as Error).message.split('\n')[0]}`);
        runs.push({ inputs: label, inputShapes: inputs.shapes[index] });
      }
    }
    const details = { cause: inputs.source === 'examples' ? 'input_examples' : 'outputs', inputs: inputs.description, runs: runs.slice(0, MAX_RUNS_IN_DETAILS) };
    if (problems.length > 0) return { status: 'failed', value: problems.length, threshold: 0, message: problems.join('; '), details };
    return { status: 'passed', value: 0, threshold: 0, message: `ran on ${inputs.description}: outputs finite and shaped as declared`, details };
  }

  recommend(result: CheckOutcome): string {
    const declareOrRegister = `declare its symbolic dimensions (settings.dimensions in the gate policy, or concrete sizes in the version's schema), or register input examples the model takes (a dataset with role ${EXAMPLE_ROLE}, or gatehouse register --input-example FILE)`;
    if (result.details?.cause === 'synthesised_inputs') {
      const modelError = (result.details.attempts as { error: string }[] | undefined)?.[0]?.error;
      return `The model does not run on inputs synthesised from its metadata${modelError ? ` (onnxruntime: ${modelError})` : ''}: ${declareOrRegister}.`;
    }
    if (result.details?.cause === 'input_examples') {
      return `Fix the input examples (role ${EXAMPLE_ROLE}): each line is {"inputs": {...}} giving every input the model takes as the whole tensor of one call, batch dimension included, scalars as numbers; if they are right, the model fails on real inputs, so run it on them locally.`;
    }
    // The message lists each run's problems as model-outputs.ts and run() word them; advise on those it has.
    const advice = [
      /the run failed/.test(result.message) && `the model fails on synthesised inputs of some sizes (the message has onnxruntime's error): ${declareOrRegister}`,
      /NaN or Inf/.test(result.message) &&
        'NaN or Inf at run time usually comes from log, sqrt or division of invalid values or from overflow (float16 especially): run the model on the same inputs locally',
      /has shape/.test(result.message) &&
        'an output shaped otherwise than declared means the export or the declared schema is wrong: declare what onnxruntime reports, or fix the export',
    ].filter((line): line is string => Boolean(line));
    if (advice.length === 0) return 'Run the model on the same inputs locally and compare its outputs with the declared schema.';
    return `${advice.map((line) => line[0].toUpperCase() + line.slice(1)).join('. ')}.`;
  }
}

/** Runs listed in a report; a failure names every bad run in the message. */
const MAX_RUNS_IN_DETAILS = 10;
const EXAMPLE_ROLE: DatasetRole = 'example';
