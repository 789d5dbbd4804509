import type { CheckOutcome, GateCheck } from '../../check';
import { DatasetFormatError, type MeasuredMetrics } from '../../evaluation';
import type { GateContext } from '../../gate-context';
import { evaluationDataset } from '../validation/evaluation-dataset';
import { atLeast, atMost, baselineOf, compared, formatRatio, refOf } from './comparison';

type Thresholds = { minAccuracyRatio: number; maxMaeRatio: number };

/**
 * The candidate against the production version on the candidate's own
 * evaluation data, both run in this gate with the same batch size: a model can
 * clear the absolute floor and still be worse than what it replaces.
 */
export class BaselineAccuracyCheck implements GateCheck<Thresholds> {
  readonly id = 'baseline_accuracy';
  readonly family = 'regression';
  readonly description = 'accuracy (classification) or MAE (regression) on the evaluation dataset, relative to the version in production';
  readonly severity = 'critical';
  readonly tasks = ['classification', 'regression'] as const;
  readonly requires = ['model_loads'];
  readonly thresholds = {
    minAccuracyRatio: { type: 'number', min: 0, max: 10, description: "classification: lowest candidate accuracy as a multiple of production's (0.95 = at most 5% worse)" },
    maxMaeRatio: { type: 'number', min: 0, description: "regression: highest candidate MAE as a multiple of production's (1.05 = at most 5% worse)" },
  } as const;
  readonly defaults = { minAccuracyRatio: 0.95, maxMaeRatio: 1.05 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    const production = refOf(baseline);
    if (baseline.task !== context.task)
      return { status: 'skipped', message: `production version ${production} is a ${baseline.task} model, not ${context.task}: there is no common metric` };
    const { dataset, missing, unusable } = evaluationDataset(context);
    // A corrupt dataset is a comparison that could not be made, not one with nothing to make.
    if (!dataset) return { status: unusable ? 'error' : 'skipped', message: `${missing}: nothing to compare on` };
    const candidate = await context.evaluate(dataset);
    let reference: MeasuredMetrics;
    try {
      reference = await baseline.evaluate(dataset);
    } catch (error) {
      if (!(error instanceof DatasetFormatError)) throw error;
      // The candidate read this data; production cannot: its inputs changed, which contract_compat judges.
      return { status: 'skipped', message: `production version ${production} cannot run on ${dataset.name}, the candidate's evaluation data: ${error.message}` };
    }
    const details = { dataset: dataset.name, baseline: { model: baseline.subject.model, version: baseline.subject.version, measured: reference }, measured: candidate };
    const on = `on ${candidate.examples} examples of ${dataset.name}`;
    if (context.task === 'classification') {
      if (candidate.accuracy === undefined || reference.accuracy === undefined) return { status: 'skipped', message: `dataset ${dataset.name} has no examples`, details };
      const row = atLeast('accuracy', reference.accuracy, candidate.accuracy, thresholds.minAccuracyRatio);
      const comparison = `accuracy ${candidate.accuracy.toFixed(4)} against ${reference.accuracy.toFixed(4)} for production ${production} (${formatRatio(row.ratio)}) ${on}`;
      return compared(row, row.verdict === 'passed' ? comparison : `${comparison}: below ${thresholds.minAccuracyRatio}× production's`, details);
    }
    if (candidate.mae === undefined || reference.mae === undefined)
      return { status: 'skipped', message: `dataset ${dataset.name} has no labels to measure errors against`, details };
    const row = atMost('mae', reference.mae, candidate.mae, thresholds.maxMaeRatio);
    const comparison = `MAE ${candidate.mae.toFixed(4)} against ${reference.mae.toFixed(4)} for production ${production} (${formatRatio(row.ratio)}) ${on}`;
    return compared(row, row.verdict === 'passed' ? comparison : `${comparison}: above ${thresholds.maxMaeRatio}× production's`, details);
  }

  recommend(): string {
    return 'The candidate is worse than the model in production on the same data: retrain or keep production; if the drop is intended (a deliberate trade-off), lower baseline_accuracy.minAccuracyRatio (or raise maxMaeRatio) for this stage in config/gates.json.';
  }
}
