import type { CheckOutcome } from '../../check';
import type { MeasuredMetrics } from '../../evaluation';
import type { GateContext, GateDataset } from '../../gate-context';

export type StoredDataset = GateDataset & { path: string };

/** The dataset held out for evaluation: role evaluation, else validation; only if its file is stored. */
export function evaluationDataset(context: GateContext): { dataset?: StoredDataset; missing: string; unusable?: boolean } {
  const dataset = context.dataset('evaluation') ?? context.dataset('validation');
  if (!dataset) return { missing: 'the version names no evaluation or validation dataset' };
  if (dataset.problem) return { missing: `dataset ${dataset.name} (${dataset.role}): ${dataset.problem}`, unusable: true };
  if (!dataset.path) return { missing: `dataset ${dataset.name} (${dataset.role}) has no stored file to evaluate on` };
  return { dataset: dataset as StoredDataset, missing: '' };
}

/** The first of `names` the version reported as a number. */
export function reportedMetric(context: GateContext, names: readonly string[]): { name: string; value: number } | undefined {
  for (const name of names) {
    const value = context.subject.reportedMetrics[name];
    if (typeof value === 'number' && Number.isFinite(value)) return { name, value };
  }
  return undefined;
}

export const REPORTED_ACCURACY = ['val_accuracy', 'eval_accuracy', 'accuracy'] as const;
export const REPORTED_TRAIN_ACCURACY = ['train_accuracy', 'training_accuracy', 'accuracy_train'] as const;
export const REPORTED_LOSS = ['final_loss', 'val_loss', 'loss'] as const;

/**
 * What is wrong with a measurement in which the model predicted NaN or Inf, or
 * undefined when every prediction was finite. Any such prediction fails the
 * check: the metrics count it wrong, but a model that gives NaN on real inputs
 * must not pass on the strength of the examples it got right.
 */
export function nonFiniteProblem(measured: MeasuredMetrics, dataset: string): string | undefined {
  if (measured.nonFinitePredictions === 0) return undefined;
  return `the model predicted NaN or Inf for ${measured.nonFinitePredictions} of ${measured.examples} examples of ${dataset}`;
}

/** Whether a check failed on NaN or Inf predictions: the checks that fail on them say how many in `details.nonFinitePredictions`. */
export function failedOnNonFinite(result: CheckOutcome): boolean {
  return typeof result.details?.nonFinitePredictions === 'number' && result.details.nonFinitePredictions > 0;
}

/** Advice for an evaluation dataset whose stored file cannot be used, the same whichever check met it. */
export const UNUSABLE_DATASET_ADVICE =
  "The evaluation dataset's stored file cannot be used (the message says why): restore it, or register the version with a dataset whose file is stored intact.";

/** Advice for NaN or Inf predictions on the dataset's inputs, the same whichever check met them. */
export const NON_FINITE_PREDICTIONS_ADVICE =
  'The model gives NaN or Inf on real inputs: run it on the examples the report counts, look for log, sqrt or division of invalid values and for overflow (float16 especially), and check the dataset is preprocessed (scaled, encoded) as the training data was.';
