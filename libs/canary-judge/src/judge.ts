import { inputDrift, inputDriftBetween, predictionDrift, predictionDriftBetween, type DriftReport, type DriftStatistics } from './drift';
import { latencyBuckets } from './latency-sketch';
import type { ReferenceProfile } from './reference-profile';
import { mannWhitneyGreater, meanSquaredErrorAboveRatio, proportionBelowRatio, rateGreater } from './statistical-tests';
import { latencyQuantile, type TelemetryAggregate } from './telemetry-aggregate';

export type Verdict = 'pass' | 'fail' | 'inconclusive';
export type JudgedMetric = 'latency' | 'error_rate' | 'prediction_drift' | 'input_drift' | 'accuracy';

/**
 * What the judge holds a canary to. Flat, so that a policy overrides a field
 * with `{ ...DEFAULT_JUDGE_CRITERIA, ...overrides }`.
 */
export interface JudgeCriteria {
  /** Observations each side needs in the window for latency and error rate to be judged; fewer is inconclusive, no_data. */
  minSamples: number;
  /**
   * Significance level of every one-sided test. 0.002: an analysis judges up to 15 intervals and rolls back at
   * 2 failures, so an identical canary's intervals must fail well under 1% of the time (bench/canary-judge:
   * 0.2% of identical canaries rolled back, at 0.005 0.4–0.8%).
   */
  alpha: number;
  /** Latency fails when the rank test is significant and the canary's median and p95 both exceed production's by more than this ratio. */
  maxLatencyRatio: number;
  /** Error rate fails when the (exact, conditional) two-proportion test is significant and the canary's rate exceeds production's × this ratio + minErrorRateIncrease. */
  maxErrorRateRatio: number;
  minErrorRateIncrease: number;
  /** Drift fails above this score (PSI): the ModelDriftDetected threshold, between the brief's warning 0.1 and critical 0.3. */
  maxDrift: number;
  /** Observations a distribution needs to be compared: PSI over 10 bins reads about 9/n from sampling noise alone. */
  minDriftSamples: number;
  /** Accuracy fails when the canary's is below this × production's with confidence (for regression: its mean squared error above production's / this). */
  minAccuracyRatio: number;
  /** Labelled observations each side needs for accuracy to be judged. */
  minLabels: number;
}

export const DEFAULT_JUDGE_CRITERIA: Readonly<JudgeCriteria> = Object.freeze({
  minSamples: 50,
  alpha: 0.002,
  maxLatencyRatio: 1.1,
  maxErrorRateRatio: 1.5,
  minErrorRateIncrease: 0.001,
  maxDrift: 0.2,
  minDriftSamples: 200,
  minAccuracyRatio: 0.95,
  minLabels: 50,
});

/**
 * One metric's verdict and its numbers. `canary` and `baseline` are the
 * metric's values (latency: p95 in ms; error_rate: rates; drift: drift
 * scores, PSI; accuracy: accuracy, or mean squared error for regression).
 * `statistic` and `pValue` are the test's (latency: Mann–Whitney z;
 * error_rate: the two-proportion z and the exact conditional p-value;
 * accuracy: z; drift: the canary's score, and the KS p-value
 * of its most drifted distribution). `effect` is what `threshold` bounds
 * (latency: the smaller of the median and p95 ratios; error_rate: the rate
 * the canary must exceed is `threshold`, effect its ratio to production's;
 * drift: the canary's Jensen–Shannon divergence; accuracy: the canary's over
 * production's). Numbers that cannot be computed are null.
 */
export interface MetricJudgement {
  metric: JudgedMetric;
  verdict: Verdict;
  /** A stable code: no_data; slower, more_errors, less_accurate (fail); drifted, drifted_from_production (fail); small_effect (significant, below the threshold), not_significant, within_threshold, traffic_drifted (pass). */
  reason: string;
  canary: number | null;
  baseline: number | null;
  statistic: number | null;
  pValue: number | null;
  effect: number | null;
  threshold: number;
  samples: { canary: number; baseline: number };
  /** Drift metrics: the statistics per feature (input) or of the predictions. Latency: both sides' p50 and p95. */
  details?: Record<string, unknown>;
}

export interface IntervalJudgement {
  /**
   * fail if any metric failed; else inconclusive if latency or error rate
   * had too few samples (drift and accuracy need a profile and labels, which
   * a model may lack: their no_data does not hold an interval up); else pass.
   */
  verdict: Verdict;
  metrics: MetricJudgement[];
}

/** Compares a canary's aggregate with production's over the same window. */
export function judgeInterval(
  canary: TelemetryAggregate,
  baseline: TelemetryAggregate,
  profile: ReferenceProfile | null,
  criteria: JudgeCriteria = DEFAULT_JUDGE_CRITERIA,
): IntervalJudgement {
  const metrics = [
    judgeLatency(canary, baseline, criteria),
    judgeErrorRate(canary, baseline, criteria),
    judgePredictionDrift(canary, baseline, profile, criteria),
    judgeInputDrift(canary, baseline, profile, criteria),
    judgeAccuracy(canary, baseline, criteria),
  ];
  const traffic = metrics.filter(({ metric }) => metric === 'latency' || metric === 'error_rate');
  const verdict: Verdict = metrics.some((metric) => metric.verdict === 'fail') ? 'fail' : traffic.some((metric) => metric.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  return { verdict, metrics };
}

function judgeLatency(canary: TelemetryAggregate, baseline: TelemetryAggregate, criteria: JudgeCriteria): MetricJudgement {
  const samples = { canary: canary.count, baseline: baseline.count };
  const threshold = criteria.maxLatencyRatio;
  const quantiles = {
    canaryP50: latencyQuantile(canary, 0.5),
    canaryP95: latencyQuantile(canary, 0.95),
    baselineP50: latencyQuantile(baseline, 0.5),
    baselineP95: latencyQuantile(baseline, 0.95),
  };
  const test = mannWhitneyGreater(latencyBuckets(canary.latency), latencyBuckets(baseline.latency));
  if (samples.canary < criteria.minSamples || samples.baseline < criteria.minSamples || test === null) {
    return noData('latency', threshold, samples, quantiles.canaryP95, quantiles.baselineP95);
  }
  // Both the median and the p95 must be slower by the ratio: the p95 of the few hundred requests a canary
  // at 5% serves in an interval moves by ±6% from sampling alone, and a tail that alone is slower is what
  // production's p95 alert (ModelLatencyHigh) watches.
  const effect = Math.min(latencyRatio(quantiles.canaryP50, quantiles.baselineP50), latencyRatio(quantiles.canaryP95, quantiles.baselineP95));
  return decided(
    'latency',
    'slower',
    { significant: test.pValue < criteria.alpha, large: effect > threshold },
    {
      canary: quantiles.canaryP95,
      baseline: quantiles.baselineP95,
      statistic: test.z,
      pValue: test.pValue,
      effect,
      threshold,
      samples,
      details: quantiles,
    },
  );
}

function judgeErrorRate(canary: TelemetryAggregate, baseline: TelemetryAggregate, criteria: JudgeCriteria): MetricJudgement {
  const samples = { canary: canary.count, baseline: baseline.count };
  const canaryRate = rate(canary.errors, canary.count);
  const baselineRate = rate(baseline.errors, baseline.count);
  const threshold = (baselineRate ?? 0) * criteria.maxErrorRateRatio + criteria.minErrorRateIncrease;
  if (canaryRate === null || baselineRate === null || samples.canary < criteria.minSamples || samples.baseline < criteria.minSamples) {
    return noData('error_rate', threshold, samples, canaryRate, baselineRate);
  }
  const test = rateGreater(canary.errors, canary.count, baseline.errors, baseline.count);
  return decided(
    'error_rate',
    'more_errors',
    { significant: test.pValue < criteria.alpha, large: canaryRate > threshold },
    {
      canary: canaryRate,
      baseline: baselineRate,
      statistic: test.z,
      pValue: test.pValue,
      effect: baselineRate > 0 ? canaryRate / baselineRate : null,
      threshold,
      samples,
    },
  );
}

/** A metric that fails when its test is significant and its effect beyond the threshold; a significant but small effect passes. */
function decided(
  metric: JudgedMetric,
  failure: string,
  { significant, large }: { significant: boolean; large: boolean },
  numbers: Omit<MetricJudgement, 'metric' | 'verdict' | 'reason'>,
): MetricJudgement {
  const fails = significant && large;
  return { metric, verdict: fails ? 'fail' : 'pass', reason: fails ? failure : significant ? 'small_effect' : 'not_significant', ...numbers };
}

/** What drift judging needs of a kind of drift (input or prediction): each side against the reference, and the canary against production. */
interface DriftReading {
  score: number | null;
  worst: DriftStatistics | null;
  details: Record<string, unknown>;
}

function judgeInputDrift(canary: TelemetryAggregate, baseline: TelemetryAggregate, profile: ReferenceProfile | null, criteria: JudgeCriteria): MetricJudgement {
  const read = (report: DriftReport): DriftReading => ({
    score: report.score,
    worst: report.worst === null ? null : report.features[report.worst],
    details: { worst: report.worst, features: report.features },
  });
  return judgeDrift(
    'input_drift',
    criteria,
    profile && read(inputDrift(canary, profile, criteria.minDriftSamples)),
    profile && read(inputDrift(baseline, profile, criteria.minDriftSamples)),
    () => read(inputDriftBetween(baseline, canary, criteria.minDriftSamples)),
  );
}

function judgePredictionDrift(canary: TelemetryAggregate, baseline: TelemetryAggregate, profile: ReferenceProfile | null, criteria: JudgeCriteria): MetricJudgement {
  const read = (statistics: DriftStatistics | null): DriftReading => ({ score: statistics?.psi ?? null, worst: statistics, details: { predictions: statistics } });
  return judgeDrift(
    'prediction_drift',
    criteria,
    profile && read(predictionDrift(canary, profile, criteria.minDriftSamples)),
    profile && read(predictionDrift(baseline, profile, criteria.minDriftSamples)),
    () => read(profile && predictionDriftBetween(baseline, canary, profile, criteria.minDriftSamples)),
  );
}

/**
 * Drift fails when the canary's distribution is further than maxDrift from
 * the reference's. When production's is too, the traffic itself has moved
 * and the reference no longer describes it: the canary is then held to
 * production's distribution over the same window instead (and production's
 * own monitor reports the traffic's drift).
 */
function judgeDrift(
  metric: JudgedMetric,
  criteria: JudgeCriteria,
  canary: DriftReading | null,
  baseline: DriftReading | null,
  canaryAgainstProduction: () => DriftReading,
): MetricJudgement {
  const threshold = criteria.maxDrift;
  const samples = { canary: canary?.worst?.samples ?? 0, baseline: baseline?.worst?.samples ?? 0 };
  if (canary === null || canary.score === null || canary.worst === null) return noData(metric, threshold, samples, null, baseline?.score ?? null);
  const judged = (verdict: Verdict, reason: string, reading: DriftReading): MetricJudgement => ({
    metric,
    verdict,
    reason,
    canary: canary.score,
    baseline: baseline?.score ?? null,
    statistic: reading.score,
    pValue: reading.worst?.ksPValue ?? null,
    effect: reading.worst?.jensenShannon ?? null,
    threshold,
    samples,
    details: reading.details,
  });
  if (canary.score <= threshold) return judged('pass', 'within_threshold', canary);
  if (baseline === null || baseline.score === null || baseline.score <= threshold) return judged('fail', 'drifted', canary);
  const between = canaryAgainstProduction();
  if (between.score === null) return judged('inconclusive', 'no_data', between);
  return between.score > threshold ? judged('fail', 'drifted_from_production', between) : judged('pass', 'traffic_drifted', between);
}

function judgeAccuracy(canary: TelemetryAggregate, baseline: TelemetryAggregate, criteria: JudgeCriteria): MetricJudgement {
  const threshold = criteria.minAccuracyRatio;
  const classification = canary.classLabels.count > 0 || baseline.classLabels.count > 0;
  if (classification) {
    const { count: canaryCount, correct: canaryCorrect } = canary.classLabels;
    const { count: baselineCount, correct: baselineCorrect } = baseline.classLabels;
    const samples = { canary: canaryCount, baseline: baselineCount };
    if (canaryCount < criteria.minLabels || baselineCount < criteria.minLabels)
      return noData('accuracy', threshold, samples, rate(canaryCorrect, canaryCount), rate(baselineCorrect, baselineCount));
    const canaryAccuracy = canaryCorrect / canaryCount;
    const baselineAccuracy = baselineCorrect / baselineCount;
    const test = proportionBelowRatio(canaryCorrect, canaryCount, baselineCorrect, baselineCount, threshold);
    return accuracyJudgement(
      test.pValue < criteria.alpha,
      test,
      canaryAccuracy,
      baselineAccuracy,
      baselineAccuracy > 0 ? canaryAccuracy / baselineAccuracy : null,
      threshold,
      samples,
    );
  }
  const samples = { canary: canary.valueLabels.count, baseline: baseline.valueLabels.count };
  if (samples.canary < criteria.minLabels || samples.baseline < criteria.minLabels) return noData('accuracy', threshold, samples, null, null);
  const canaryError = canary.valueLabels.squaredErrorSum / samples.canary;
  const baselineError = baseline.valueLabels.squaredErrorSum / samples.baseline;
  const test = meanSquaredErrorAboveRatio(canary.valueLabels, baseline.valueLabels, threshold);
  if (test === null) return noData('accuracy', threshold, samples, null, null);
  // For errors, lower is better: the effect is production's error over the canary's, read like an accuracy ratio.
  return accuracyJudgement(test.pValue < criteria.alpha, test, canaryError, baselineError, canaryError > 0 ? baselineError / canaryError : null, threshold, samples);
}

function accuracyJudgement(
  worse: boolean,
  test: { z: number; pValue: number },
  canary: number,
  baseline: number,
  effect: number | null,
  threshold: number,
  samples: MetricJudgement['samples'],
): MetricJudgement {
  return {
    metric: 'accuracy',
    verdict: worse ? 'fail' : 'pass',
    reason: worse ? 'less_accurate' : 'not_significant',
    canary,
    baseline,
    statistic: test.z,
    pValue: test.pValue,
    effect,
    threshold,
    samples,
  };
}

function noData(metric: JudgedMetric, threshold: number, samples: MetricJudgement['samples'], canary: number | null, baseline: number | null): MetricJudgement {
  return { metric, verdict: 'inconclusive', reason: 'no_data', canary, baseline, statistic: null, pValue: null, effect: null, threshold, samples };
}

function latencyRatio(numerator: number | null, denominator: number | null): number {
  return numerator === null || denominator === null || !(denominator > 0) ? 1 : numerator / denominator;
}

function rate(events: number, total: number): number | null {
  return total > 0 ? events / total : null;
}
