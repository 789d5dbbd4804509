import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { NON_FINITE_PREDICTIONS_ADVICE, REPORTED_TRAIN_ACCURACY, failedOnNonFinite, nonFiniteProblem, reportedMetric } from './evaluation-dataset';

type Thresholds = { minAccuracy: number };

/** A model that cannot fit its own training data is underfit, whatever it scores elsewhere. */
export class TrainAccuracyCheck implements GateCheck<Thresholds> {
  readonly id = 'train_accuracy';
  readonly family = 'validation';
  readonly description = 'accuracy on the training dataset (measured if it is stored, else as reported) meets the floor';
  readonly severity = 'critical';
  readonly tasks = ['classification'] as const;
  readonly requires = ['model_loads'];
  readonly thresholds = {
    minAccuracy: { type: 'number', min: 0, max: 1, description: 'lowest training accuracy' },
  } as const;
  readonly defaults = { minAccuracy: 0.8 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const training = context.dataset('training');
    let accuracy: number;
    let source: string;
    let details: Record<string, unknown>;
    let nonFinite: string | undefined;
    if (training?.path) {
      const measured = await context.evaluateTraining({ ...training, path: training.path });
      if (measured.examples === 0) {
        const recommendation = 'The training dataset holds no examples: register the version with the examples it was trained on, one JSON object per line.';
        return { status: 'failed', message: `training dataset ${training.name} has no examples`, recommendation };
      }
      accuracy = measured.accuracy!;
      source = `measured on ${measured.examples} examples of ${training.name}`;
      details = { source: 'measured', dataset: training.name, measured, nonFinitePredictions: measured.nonFinitePredictions };
      nonFinite = nonFiniteProblem(measured, training.name);
    } else {
      const reported = reportedMetric(context, REPORTED_TRAIN_ACCURACY);
      if (!reported) return { status: 'skipped', message: 'no stored training dataset and no reported train_accuracy' };
      accuracy = reported.value;
      source = `as reported (metrics.${reported.name}); no training dataset is stored to measure it`;
      details = { source: 'reported', metric: reported.name };
    }
    const meets = accuracy >= thresholds.minAccuracy;
    const measurement = `training accuracy ${accuracy.toFixed(4)} ${meets ? 'meets' : 'is below'} ${thresholds.minAccuracy}, ${source}`;
    return {
      status: meets && !nonFinite ? 'passed' : 'failed',
      value: accuracy,
      threshold: thresholds.minAccuracy,
      message: nonFinite ? `${nonFinite}, each counted wrong; ${measurement}` : measurement,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    if (failedOnNonFinite(result)) return NON_FINITE_PREDICTIONS_ADVICE;
    return 'The model underfits its training data: train longer, raise capacity, or check the labels and preprocessing match the ones used in training.';
  }
}
