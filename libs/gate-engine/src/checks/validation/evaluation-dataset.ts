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
