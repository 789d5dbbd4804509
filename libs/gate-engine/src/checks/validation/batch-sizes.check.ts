import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { batchDimension, batchFeeds } from '../batch-inputs';
import { inspectOutputs } from '../model-outputs';

type Thresholds = { batchSizes: readonly number[] };

interface BatchRun {
  batchSize: number;
  inputShapes: Record<string, number[]>;
  outputShapes: Record<string, number[]>;
  problems: string[];
}

/**
 * A model exported with a symbolic batch dimension promises to serve any
 * batch size; one that only works at the size it was traced with (a
 * hard-coded Reshape, a reduction over the batch axis) breaks the first time
 * a server batches requests. Runs it at each size and holds every output to
 * the declared shape, the batch included.
 */
export class BatchSizesCheck implements GateCheck<Thresholds> {
  readonly id = 'batch_sizes';
  readonly family = 'validation';
  readonly description = 'where the batch dimension is symbolic, runs at several batch sizes give finite outputs of the declared shapes';
  readonly severity = 'critical';
  // Inputs the smoke run could not run the model on would only fail here again.
  readonly requires = ['model_loads', 'smoke_run'];
  readonly thresholds = { batchSizes: { type: 'integers', min: 1, max: 65_536, description: 'batch sizes to run the model at' } } as const;
  readonly defaults = { batchSizes: [1, 4, 16] };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const session = await context.session();
    const dimension = batchDimension(context, session);
    if (!dimension.variable) return { status: 'skipped', message: `${dimension.reason}, so there is no batch size to vary`, details: { batchSize: dimension.size } };
    const runs: BatchRun[] = [];
    let fedWith = '';
    for (const batchSize of thresholds.batchSizes) {
      context.signal.throwIfAborted();
      const { inputs, bindings, feeds, description } = await batchFeeds(context, session, batchSize);
      fedWith ||= description;
      const inputShapes = Object.fromEntries(inputs.map((input) => [input.name, input.shape]));
      try {
        runs.push({ batchSize, inputShapes, ...inspectOutputs(context, session, await session.run(feeds), bindings) });
      } catch (error) {
        runs.push({ batchSize, inputShapes, outputShapes: {}, problems: [`the run failed: ${(error as Error).message.trim()}`] });
      }
    }
    const failing = runs.filter((run) => run.problems.length > 0);
    const sizes = thresholds.batchSizes.join(', ');
    return {
      status: failing.length > 0 ? 'failed' : 'passed',
      value: failing.length,
      threshold: 0,
      message:
        failing.length > 0
          ? failing.map((run) => `batch ${run.batchSize}: ${run.problems.join('; ')}`).join('; ')
          : `finite outputs of the declared shapes at batch sizes ${sizes}, the first run on ${fedWith}`,
      details: { inputs: fedWith, runs },
    };
  }

  recommend(): string {
    return 'The model works at some batch sizes and not others: look for a Reshape, Expand or Tile with the batch written in as a constant, or an operator that mixes examples (a reduction over axis 0, BatchNormalization exported in training mode), and export again with the batch axis dynamic.';
  }
}
