import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { NON_FINITE_PREDICTIONS_ADVICE, REPORTED_LOSS, evaluationDataset, failedOnNonFinite, nonFiniteProblem, reportedMetric } from './evaluation-dataset';

type Thresholds = { maxLoss: number };

/** For generative models the loss is the quality signal: measured (mean squared error) where the dataset has targets, else as reported. */
export class FinalLossCheck implements GateCheck<Thresholds> {
  readonly id = 'final_loss';
  readonly family = 'validation';
  readonly description = 'generative: loss on the evaluation dataset (or the reported final loss) is at most the ceiling';
  readonly severity = 'critical';
  readonly tasks = ['generative'] as const;
  readonly requires = ['model_loads'];
  readonly thresholds = { maxLoss: { type: 'number', min: 0, description: 'largest final loss' } } as const;
  readonly defaults = { maxLoss: 0.5 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const { dataset } = evaluationDataset(context);
    const measured = dataset ? await context.evaluate(dataset) : undefined;
    // The samples are checked for NaN even where the dataset has no targets to measure a loss against.
    const nonFinite = measured && nonFiniteProblem(measured, dataset!.name);
    const details = { measured, nonFinitePredictions: measured?.nonFinitePredictions };
    let loss: number;
    let source: string;
    if (measured?.loss !== undefined) {
      loss = measured.loss;
      const over = nonFinite ? `the ${measured.examples - measured.nonFinitePredictions} finite predictions of ${measured.examples} examples` : `${measured.examples} examples`;
      source = `mean squared error measured on ${over} of ${dataset!.name}`;
    } else {
      const reported = reportedMetric(context, REPORTED_LOSS);
      if (!reported) {
        if (nonFinite) return { status: 'failed', value: null, threshold: thresholds.maxLoss, message: nonFinite, details };
        return { status: 'skipped', message: 'no evaluation dataset with targets and no reported final_loss' };
      }
      loss = reported.value;
      source = `as reported (metrics.${reported.name})`;
    }
    const within = loss <= thresholds.maxLoss;
    const measurement = `loss ${loss.toFixed(4)} ${within ? 'is within' : 'is above'} ${thresholds.maxLoss}, ${source}`;
    return {
      status: within && !nonFinite ? 'passed' : 'failed',
      value: loss,
      threshold: thresholds.maxLoss,
      message: nonFinite ? `${nonFinite}; ${measurement}` : measurement,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    if (failedOnNonFinite(result)) return NON_FINITE_PREDICTIONS_ADVICE;
    return 'Training has not converged: train longer or tune the schedule, and register the checkpoint with the lowest validation loss.';
  }
}
