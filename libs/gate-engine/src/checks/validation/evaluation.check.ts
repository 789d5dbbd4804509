import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { evaluationDataset } from './evaluation-dataset';

type Thresholds = { minAccuracy: number; minMacroF1: number; maxMae: number; maxRmse: number; required: boolean };

/** Quality measured by running the model over its held-out dataset, never taken from what the registrant reported. */
export class EvaluationCheck implements GateCheck<Thresholds> {
  readonly id = 'evaluation';
  readonly family = 'validation';
  readonly description = 'metrics measured on the evaluation dataset meet the floor: accuracy and macro-F1 (classification), MAE and RMSE (regression)';
  readonly severity = 'critical';
  readonly tasks = ['classification', 'regression'] as const;
  readonly requires = ['model_loads'];
  readonly thresholds = {
    minAccuracy: { type: 'number', min: 0, max: 1, description: 'classification: lowest accuracy' },
    minMacroF1: { type: 'number', min: 0, max: 1, description: 'classification: lowest macro-F1 (0 = not checked)' },
    maxMae: { type: 'number', min: 0, description: 'regression: largest mean absolute error (0 = not checked)' },
    maxRmse: { type: 'number', min: 0, description: 'regression: largest root mean squared error (0 = not checked)' },
    required: { type: 'boolean', description: 'fail, rather than skip, when there is no dataset to evaluate on' },
  } as const;
  readonly defaults = { minAccuracy: 0.85, minMacroF1: 0, maxMae: 0, maxRmse: 0, required: false };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const { dataset, missing, unusable } = evaluationDataset(context);
    if (!dataset) return { status: thresholds.required || unusable ? 'failed' : 'skipped', message: missing };
    const measured = await context.evaluate(dataset);
    const details = { dataset: dataset.name, role: dataset.role, measured };
    if (measured.examples === 0) return { status: 'failed', message: `dataset ${dataset.name} has no examples`, details };
    const on = `on ${measured.examples} examples of ${dataset.name}`;
    if (context.task === 'classification') {
      const accuracy = measured.accuracy!;
      const f1 = measured.macroF1!;
      const problems = [
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
    if (measured.mae === undefined) return { status: 'failed', message: `dataset ${dataset.name} has no labels to measure errors against`, details };
    const problems = [
      thresholds.maxMae > 0 && measured.mae > thresholds.maxMae && `MAE ${measured.mae.toFixed(4)} is above ${thresholds.maxMae}`,
      thresholds.maxRmse > 0 && measured.rmse! > thresholds.maxRmse && `RMSE ${measured.rmse!.toFixed(4)} is above ${thresholds.maxRmse}`,
    ].filter((problem): problem is string => Boolean(problem));
    const summary = `MAE ${measured.mae.toFixed(4)}, RMSE ${measured.rmse!.toFixed(4)} ${on}`;
    return {
      status: problems.length ? 'failed' : 'passed',
      value: measured.mae,
      threshold: thresholds.maxMae || null,
      message: problems.length ? `${problems.join('; ')} (${summary})` : summary,
      details,
    };
  }

  recommend(): string {
    return 'The model does not meet the quality floor on held-out data: retrain (more data, better features, tuning), and check the evaluation dataset is the one the model was meant for.';
  }
}
