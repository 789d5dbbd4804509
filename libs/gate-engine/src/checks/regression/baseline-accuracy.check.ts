import type { CheckOutcome, GateCheck } from '../../check';
import { DatasetFormatError, type MeasuredMetrics } from '../../evaluation';
import type { GateContext } from '../../gate-context';
import type { ComparisonRow } from '../../gate-report';
import { NON_FINITE_PREDICTIONS_ADVICE, UNUSABLE_DATASET_ADVICE, evaluationDataset, failedOnNonFinite, nonFiniteProblem } from '../validation/evaluation-dataset';
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
    if (!dataset) {
      if (!unusable) return { status: 'skipped', message: `${missing}: nothing to compare on` };
      return { status: 'error', message: `${missing}: nothing to compare on`, recommendation: UNUSABLE_DATASET_ADVICE };
    }
    const candidate = await context.evaluate(dataset);
    let reference: MeasuredMetrics;
    try {
      reference = await baseline.evaluate(dataset);
    } catch (error) {
      if (!(error instanceof DatasetFormatError)) throw error;
      // The candidate read this data; production cannot: its inputs changed, which contract_compat judges.
      return { status: 'skipped', message: `production version ${production} cannot run on ${dataset.name}, the candidate's evaluation data: ${error.message}` };
    }
    const details = {
      dataset: dataset.name,
      baseline: { model: baseline.subject.model, version: baseline.subject.version, measured: reference },
      measured: candidate,
      nonFinitePredictions: candidate.nonFinitePredictions,
    };
    const on = `on ${candidate.examples} examples of ${dataset.name}`;
    const nonFinite = nonFiniteProblem(candidate, dataset.name);
    if (context.task === 'classification') {
      if (candidate.accuracy === undefined || reference.accuracy === undefined) return { status: 'skipped', message: `dataset ${dataset.name} has no examples`, details };
      const row = atLeast('accuracy', reference.accuracy, candidate.accuracy, thresholds.minAccuracyRatio);
      const comparison = `accuracy ${candidate.accuracy.toFixed(4)} against ${reference.accuracy.toFixed(4)} for production ${production} (${formatRatio(row.ratio)}) ${on}`;
      return withPredictionCounts(
        compared(row, row.verdict === 'passed' ? comparison : `${comparison}: below ${thresholds.minAccuracyRatio}× production's`, details),
        candidate,
        reference,
      );
    }
    if (candidate.mae === undefined && nonFinite) return { status: 'failed', message: `${nonFinite}: there is no finite prediction to compare`, details };
    if (reference.mae === undefined && reference.nonFinitePredictions > 0)
      return {
        status: 'skipped',
        message: `production version ${production} predicted NaN or Inf for all ${reference.examples} examples of ${dataset.name}: there is no MAE to compare with`,
        details,
      };
    if (candidate.mae === undefined || reference.mae === undefined)
      return { status: 'skipped', message: `dataset ${dataset.name} has no labels to measure errors against`, details };
    const row = atMost('mae', reference.mae, candidate.mae, thresholds.maxMaeRatio);
    const comparison = `MAE ${candidate.mae.toFixed(4)} against ${reference.mae.toFixed(4)} for production ${production} (${formatRatio(row.ratio)}) ${on}`;
    return withPredictionCounts(
      compared(row, row.verdict === 'passed' ? comparison : `${comparison}: above ${thresholds.maxMaeRatio}× production's`, details),
      candidate,
      reference,
    );
  }

  recommend(result: CheckOutcome): string {
    if (failedOnNonFinite(result)) return NON_FINITE_PREDICTIONS_ADVICE;
    return 'The candidate is worse than the model in production on the same data: retrain or keep production; if the drop is intended (a deliberate trade-off), lower baseline_accuracy.minAccuracyRatio (or raise maxMaeRatio) for this stage in config/gates.json.';
  }
}

/**
 * The comparison's outcome, failed if the candidate predicted NaN or Inf at all,
 * with a row of how many each model did when either did: production's count
 * explains a baseline figure lowered by predictions counted wrong (or, for MAE,
 * measured over fewer examples).
 */
function withPredictionCounts(outcome: CheckOutcome, candidate: MeasuredMetrics, reference: MeasuredMetrics): CheckOutcome {
  if (candidate.nonFinitePredictions === 0 && reference.nonFinitePredictions === 0) return outcome;
  const failed = candidate.nonFinitePredictions > 0;
  const row: ComparisonRow = {
    metric: 'NaN/Inf predictions',
    baseline: reference.nonFinitePredictions,
    candidate: candidate.nonFinitePredictions,
    ratio: null,
    threshold: 'none allowed',
    verdict: failed ? 'failed' : 'passed',
  };
  const counts = `${failed ? 'the candidate' : 'production'} predicted NaN or Inf for ${failed ? candidate.nonFinitePredictions : reference.nonFinitePredictions} of ${candidate.examples} examples`;
  return {
    ...outcome,
    status: failed ? 'failed' : outcome.status,
    message: failed ? `${counts}; ${outcome.message}` : `${outcome.message} (${counts})`,
    details: { ...outcome.details, comparison: [outcome.details!.comparison, row] },
  };
}
