import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { REPORTED_LOSS, evaluationDataset, reportedMetric } from './evaluation-dataset';

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
    let loss: number;
    let source: string;
    if (measured?.loss !== undefined) {
      loss = measured.loss;
      source = `mean squared error measured on ${measured.examples} examples of ${dataset!.name}`;
    } else {
      const reported = reportedMetric(context, REPORTED_LOSS);
      if (!reported) return { status: 'skipped', message: 'no evaluation dataset with targets and no reported final_loss' };
      loss = reported.value;
      source = `as reported (metrics.${reported.name})`;
    }
    const passed = loss <= thresholds.maxLoss;
    return {
      status: passed ? 'passed' : 'failed',
      value: loss,
      threshold: thresholds.maxLoss,
      message: `loss ${loss.toFixed(4)} ${passed ? 'is within' : 'is above'} ${thresholds.maxLoss}, ${source}`,
      details: { measured },
    };
  }

  recommend(): string {
    return 'Training has not converged: train longer or tune the schedule, and register the checkpoint with the lowest validation loss.';
  }
}
