import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { REPORTED_TRAIN_ACCURACY, reportedMetric } from './evaluation-dataset';

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
    if (training?.path) {
      const measured = await context.evaluateTraining({ ...training, path: training.path });
      if (measured.examples === 0) return { status: 'failed', message: `training dataset ${training.name} has no examples` };
      accuracy = measured.accuracy!;
      source = `measured on ${measured.examples} examples of ${training.name}`;
      details = { source: 'measured', dataset: training.name, measured };
    } else {
      const reported = reportedMetric(context, REPORTED_TRAIN_ACCURACY);
      if (!reported) return { status: 'skipped', message: 'no stored training dataset and no reported train_accuracy' };
      accuracy = reported.value;
      source = `as reported (metrics.${reported.name}); no training dataset is stored to measure it`;
      details = { source: 'reported', metric: reported.name };
    }
    const passed = accuracy >= thresholds.minAccuracy;
    return {
      status: passed ? 'passed' : 'failed',
      value: accuracy,
      threshold: thresholds.minAccuracy,
      message: `training accuracy ${accuracy.toFixed(4)} ${passed ? 'meets' : 'is below'} ${thresholds.minAccuracy}, ${source}`,
      details,
    };
  }

  recommend(): string {
    return 'The model underfits its training data: train longer, raise capacity, or check the labels and preprocessing match the ones used in training.';
  }
}
