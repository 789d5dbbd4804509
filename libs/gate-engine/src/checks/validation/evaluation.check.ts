import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { NON_FINITE_PREDICTIONS_ADVICE, UNUSABLE_DATASET_ADVICE, evaluationDataset, failedOnNonFinite, nonFiniteProblem } from './evaluation-dataset';

/** Why there was nothing to measure, for the advice. */
type DatasetProblem = 'no_dataset' | 'unusable_dataset' | 'empty_dataset' | 'no_labels';

type Thresholds = { minAccuracy: number; minMacroF1: number; maxMae: number; maxRmse: number; required: boolean };

/** Quality measured by running the model over its held-out dataset, never taken from what the registrant reported. */
export class EvaluationCheck implements GateCheck<Thresholds> {
  readonly id = 'evaluation';
  readonly family = 'validation';
  readonly description = 'metrics measured on the evaluation dataset meet the floor: accuracy and macro-F1 (classification), MAE and RMSE (regression)';
  readonly severity = 'critical';
  // Listed for other too, so a version of task other that names an evaluation dataset is told it goes unused, never passed in silence.
  readonly tasks = ['classification', 'regression', 'other'] as const;
  readonly requires = ['model_loads'];
  readonly thresholds = {
    minAccuracy: { type: 'number', min: 0, max: 1, description: 'classification: lowest accuracy' },
    minMacroF1: { type: 'number', min: 0, max: 1, description: 'classification: lowest macro-F1 (0 = not checked)' },
    maxMae: { type: 'number', min: 0, description: 'regression: largest mean absolute error (0 = not checked)' },
    maxRmse: { type: 'number', min: 0, description: 'regression: largest root mean squared error (0 = not checked)' },
    required: { type: 'boolean', description: 'fail, rather than skip, when there is no dataset to evaluate on' },
  } as const;
  readonly defaults = { minAccuracy: 0.85, minMacroF1: 0, maxMae: 0, maxRmse: 0, required: false };

  notApplicable(context: GateContext): string | undefined {
    if (context.task !== 'other') return undefined;
    const named = context.dataset('evaluation') ?? context.dataset('validation');
    if (!named) return 'task other has no metric to evaluate';
    return `task other has no metric to measure dataset ${named.name} (${named.role}) on, so it was not evaluated; give the model's task as classification, regression or generative to have it measured`;
  }

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const { dataset, missing, unusable } = evaluationDataset(context);
    if (!dataset) {
      if (unusable) return unmeasured('unusable_dataset', missing);
      return thresholds.required ? unmeasured('no_dataset', missing) : { status: 'skipped', message: missing };
    }
    const measured = await context.evaluate(dataset);
    const details = { dataset: dataset.name, role: dataset.role, measured, nonFinitePredictions: measured.nonFinitePredictions };
    if (measured.examples === 0) return unmeasured('empty_dataset', `dataset ${dataset.name} has no examples`, details);
    const on = `on ${measured.examples} examples of ${dataset.name}`;
    const nonFinite = nonFiniteProblem(measured, dataset.name);
    if (context.task === 'classification') {
      const accuracy = measured.accuracy!;
      const f1 = measured.macroF1!;
      const problems = [
        nonFinite && `${nonFinite}, each counted wrong`,
        accuracy < thresholds.minAccuracy && `accuracy ${accuracy.toFixed(4)} is below ${thresholds.minAccuracy}`,
        thresholds.minMacroF1 > 0 && f1 < thresholds.minMacroF1 && `macro-F1 ${f1.toFixed(4)} is below ${thresholds.minMacroF1}`,
      ].filter((problem): problem is string => Boolean(problem));
      const summary = `accuracy ${accuracy.toFixed(4)}, macro-F1 ${f1.toFixed(4)}${measured.loss === undefined ? '' : `, loss ${measured.loss.toFixed(4)}`} ${on}`;
      return {
        status: problems.length ? 'failed' : 'passed',
        value: accuracy,
        threshold: thresholds.minAccuracy,
        message: problems.length ? `${problems.join('; ')} (${summary})` : summary,
        details,
      };
    }
    if (measured.mae === undefined && !nonFinite) return unmeasured('no_labels', `dataset ${dataset.name} has no labels to measure errors against`, details);
    const { mae, rmse } = measured;
    const problems = [
      nonFinite,
      mae !== undefined && thresholds.maxMae > 0 && mae > thresholds.maxMae && `MAE ${mae.toFixed(4)} is above ${thresholds.maxMae}`,
      rmse !== undefined && thresholds.maxRmse > 0 && rmse > thresholds.maxRmse && `RMSE ${rmse.toFixed(4)} is above ${thresholds.maxRmse}`,
    ].filter((problem): problem is string => Boolean(problem));
    const summary =
      mae === undefined || rmse === undefined
        ? `no finite prediction ${on}`
        : `MAE ${mae.toFixed(4)}, RMSE ${rmse.toFixed(4)} ${nonFinite ? `over the ${measured.examples - measured.nonFinitePredictions} finite predictions ` : ''}${on}`;
    return {
      status: problems.length ? 'failed' : 'passed',
      value: mae ?? null,
      threshold: thresholds.maxMae || null,
      message: problems.length ? `${problems.join('; ')} (${summary})` : summary,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    switch (result.details?.problem as DatasetProblem | undefined) {
      case 'no_dataset':
        return 'This stage measures quality on held-out data rather than taking reported metrics: register the version with an evaluation dataset (role evaluation or validation, e.g. gatehouse register … --dataset name@version:evaluation).';
      case 'unusable_dataset':
        return UNUSABLE_DATASET_ADVICE;
      case 'empty_dataset':
        return 'The evaluation dataset holds no examples: register one with at least a few hundred held-out examples, one JSON object per line.';
      case 'no_labels':
        return 'Give every example of the evaluation dataset a "label" (the target, a number or an array shaped like the output) so errors can be measured.';
    }
    if (result.status === 'error')
      return "The model could not be run over the evaluation dataset (the message has the error): check each example's inputs carry the names, element types and shapes the model declares.";
    if (failedOnNonFinite(result)) return NON_FINITE_PREDICTIONS_ADVICE;
    return 'The model does not meet the quality floor on held-out data: retrain (more data, better features, tuning), and check the evaluation dataset is the one the model was meant for.';
  }
}

/** A failure for want of data to measure on; `problem` picks the advice. */
function unmeasured(problem: DatasetProblem, message: string, details: Record<string, unknown> = {}): CheckOutcome {
  return { status: 'failed', message, details: { ...details, problem } };
}
