import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import type { MeasuredMetrics } from '../../evaluation';
import {
  NON_FINITE_PREDICTIONS_ADVICE,
  REPORTED_ACCURACY,
  REPORTED_LOSS,
  REPORTED_TRAIN_ACCURACY,
  evaluationDataset,
  failedOnNonFinite,
  nonFiniteProblem,
  reportedMetric,
} from './evaluation-dataset';

type Thresholds = { absoluteTolerance: number; relativeTolerance: number };

interface Comparison {
  metric: string;
  reported: number;
  measured: number;
  difference: number;
  allowed: number;
}

/** Which measured metric each reported name claims, and whether it lives in [0, 1] (absolute tolerance) or not (relative). */
const CLAIMS: { names: readonly string[]; measured: keyof MeasuredMetrics; bounded: boolean; training?: boolean }[] = [
  { names: REPORTED_ACCURACY, measured: 'accuracy', bounded: true },
  { names: ['macro_f1', 'f1'], measured: 'macroF1', bounded: true },
  { names: ['mae', 'val_mae'], measured: 'mae', bounded: false },
  { names: ['rmse', 'val_rmse'], measured: 'rmse', bounded: false },
  { names: REPORTED_LOSS, measured: 'loss', bounded: false },
  { names: REPORTED_TRAIN_ACCURACY, measured: 'accuracy', bounded: true, training: true },
];

/** Self-reported metrics that don't match what the gate measured point at a leak, a wrong dataset or a wrong artifact. */
export class ReportedMetricsCheck implements GateCheck<Thresholds> {
  readonly id = 'reported_metrics';
  readonly family = 'validation';
  readonly description = 'metrics the registrant reported agree with the ones measured on the same datasets';
  readonly severity = 'warning';
  readonly requires = ['model_loads'];
  readonly thresholds = {
    absoluteTolerance: { type: 'number', min: 0, max: 1, description: 'largest difference for metrics in [0, 1] (accuracy, F1)' },
    relativeTolerance: { type: 'number', min: 0, description: 'largest relative difference for unbounded metrics (MAE, RMSE, loss)' },
  } as const;
  readonly defaults = { absoluteTolerance: 0.02, relativeTolerance: 0.1 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const { dataset } = evaluationDataset(context);
    const training = context.dataset('training');
    const evaluated = dataset ? await context.evaluate(dataset) : undefined;
    const trained = training?.path ? await context.evaluateTraining({ ...training, path: training.path }) : undefined;
    // Measurements that counted NaN predictions wrong are no yardstick for what the registrant saw in training.
    const nonFinite = [evaluated && nonFiniteProblem(evaluated, dataset!.name), trained && nonFiniteProblem(trained, training!.name)].filter((problem): problem is string =>
      Boolean(problem),
    );
    if (nonFinite.length > 0) {
      const count = (evaluated?.nonFinitePredictions ?? 0) + (trained?.nonFinitePredictions ?? 0);
      return { status: 'failed', value: count, threshold: 0, message: nonFinite.join('; '), details: { nonFinitePredictions: count } };
    }
    const comparisons: Comparison[] = [];
    for (const claim of CLAIMS) {
      const reported = reportedMetric(context, claim.names);
      const measured = (claim.training ? trained : evaluated)?.[claim.measured];
      if (!reported || typeof measured !== 'number') continue;
      const difference = Math.abs(reported.value - measured);
      const allowed = claim.bounded ? thresholds.absoluteTolerance : thresholds.relativeTolerance * Math.abs(measured);
      comparisons.push({ metric: reported.name, reported: reported.value, measured, difference, allowed });
    }
    if (comparisons.length === 0) return { status: 'skipped', message: 'no reported metric has a measured counterpart' };
    const disagreements = comparisons.filter((comparison) => comparison.difference > comparison.allowed);
    if (disagreements.length > 0) {
      return {
        status: 'warning',
        value: disagreements.length,
        threshold: 0,
        message: disagreements
          .map((d) => `reported ${d.metric} ${round(d.reported)} but measured ${round(d.measured)} (off by ${round(d.difference)}, tolerance ${round(d.allowed)})`)
          .join('; '),
        details: { comparisons },
      };
    }
    return { status: 'passed', value: 0, threshold: 0, message: `${comparisons.map((c) => c.metric).join(', ')} agree with the measurements`, details: { comparisons } };
  }

  recommend(result: CheckOutcome): string {
    if (failedOnNonFinite(result)) return NON_FINITE_PREDICTIONS_ADVICE;
    return 'Report metrics computed on the same held-out dataset registered with the version; a reported score well above the measured one suggests leakage or a different artifact.';
  }
}

function round(value: number): string {
  return Number(value.toPrecision(4)).toString();
}
