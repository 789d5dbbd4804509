import { DEFAULT_JUDGE_CRITERIA, judgeInterval, type IntervalJudgement, type JudgedMetric } from './judge';
import { normalUpperQuantile } from './normal-distribution';
import { referenceProfile } from './reference-profile';
import { emptyAggregate, foldObservations, type Observation, type TelemetryAggregate } from './telemetry-aggregate';

const standardNormalGrids = new Map<number, number[]>();

/** n log-normal latencies (σ 0.5) at the probabilities (i + ½)/n (exact quantiles, no generator), times `factor`. */
function latencies(n: number, medianMs: number, factor = 1): number[] {
  let grid = standardNormalGrids.get(n);
  if (!grid) standardNormalGrids.set(n, (grid = Array.from({ length: n }, (_, i) => -normalUpperQuantile((i + 0.5) / n))));
  return grid.map((z) => factor * medianMs * Math.exp(0.5 * z));
}

/** Evenly spread points of [0, 1) in a scrambled order. */
const uniform = (i: number) => (i * 0.6180339887498949) % 1;

const PROFILE = referenceProfile(
  Array.from({ length: 1000 }, (_, i) => ({ inputs: { amount: 100 * uniform(i), hour: i % 24 }, label: i % 10 < 3 ? 1 : 0 })),
  { task: 'classification' },
);

interface Traffic {
  count: number;
  slower?: number;
  errorEvery?: number;
  shift?: number;
  /** Every nth labelled observation is wrong. */
  wrongEvery?: number;
}

function aggregateOf({ count, slower = 1, errorEvery = 0, shift = 0, wrongEvery = 0 }: Traffic): TelemetryAggregate {
  const observations = latencies(count, 80, slower).map((latencyMs, i): Observation => ({
    latencyMs,
    error: errorEvery > 0 && i % errorEvery === 0,
    prediction: { class: i % 10 < 3 ? 1 : 0 },
    features: { amount: 100 * uniform(i + 3) + shift, hour: i % 24 },
    label: wrongEvery > 0 && i % wrongEvery === 0 ? (i % 10 < 3 ? 0 : 1) : i % 10 < 3 ? 1 : 0,
  }));
  return foldObservations(emptyAggregate(), observations, PROFILE);
}

function metric(judgement: IntervalJudgement, name: JudgedMetric) {
  return judgement.metrics.find((entry) => entry.metric === name)!;
}

describe('judgeInterval', () => {
  const production = aggregateOf({ count: 2000, errorEvery: 50, wrongEvery: 20 });

  it('passes an identical canary on every metric', () => {
    const judgement = judgeInterval(aggregateOf({ count: 2000, errorEvery: 50, wrongEvery: 20 }), production, PROFILE);
    expect(judgement.verdict).toBe('pass');
    expect(judgement.metrics.map(({ metric, verdict }) => [metric, verdict])).toEqual([
      ['latency', 'pass'],
      ['error_rate', 'pass'],
      ['prediction_drift', 'pass'],
      ['input_drift', 'pass'],
      ['accuracy', 'pass'],
    ]);
  });

  it('fails a canary 30% slower, with the rank test and both ratios as evidence', () => {
    const judgement = judgeInterval(aggregateOf({ count: 2000, slower: 1.3, errorEvery: 50, wrongEvery: 20 }), production, PROFILE);
    expect(judgement.verdict).toBe('fail');
    const latency = metric(judgement, 'latency');
    expect(latency).toMatchObject({ verdict: 'fail', reason: 'slower', threshold: 1.1, samples: { canary: 2000, baseline: 2000 } });
    expect(latency.pValue!).toBeLessThan(1e-10);
    expect(latency.effect!).toBeCloseTo(1.3, 1);
    expect(latency.canary! / latency.baseline!).toBeCloseTo(1.3, 1);
  });

  it('passes a canary 1% slower even when so many samples make the difference significant', () => {
    const unprofiled = (slower: number) =>
      foldObservations(
        emptyAggregate(),
        latencies(100_000, 80, slower).map((latencyMs) => ({ latencyMs, error: false })),
      );
    const judgement = judgeInterval(unprofiled(1.01), unprofiled(1), null);
    const latency = metric(judgement, 'latency');
    expect(latency.pValue!).toBeLessThan(DEFAULT_JUDGE_CRITERIA.alpha);
    expect(latency).toMatchObject({ verdict: 'pass', reason: 'small_effect' });
    expect(latency.effect!).toBeLessThan(1.05);
    expect(judgement.verdict).toBe('pass');
  });

  it('fails a canary with twice the error rate', () => {
    const judgement = judgeInterval(aggregateOf({ count: 2000, errorEvery: 25, wrongEvery: 20 }), production, PROFILE);
    expect(judgement.verdict).toBe('fail');
    expect(metric(judgement, 'error_rate')).toMatchObject({ verdict: 'fail', reason: 'more_errors', canary: 0.04, baseline: 0.02, effect: 2 });
  });

  it('fails a canary whose inputs drift from the reference, and names the feature', () => {
    const judgement = judgeInterval(aggregateOf({ count: 2000, errorEvery: 50, wrongEvery: 20, shift: 40 }), production, PROFILE);
    const drift = metric(judgement, 'input_drift');
    expect(drift).toMatchObject({ verdict: 'fail', reason: 'drifted', threshold: 0.2 });
    expect(drift.canary!).toBeGreaterThan(0.3);
    expect(drift.baseline!).toBeLessThan(0.05);
    expect(drift.details).toMatchObject({ worst: 'amount' });
    expect(judgement.verdict).toBe('fail');
  });

  it('holds the canary to production, not the reference, when the traffic itself has drifted', () => {
    const shiftedProduction = aggregateOf({ count: 2000, errorEvery: 50, shift: 40 });
    expect(metric(judgeInterval(aggregateOf({ count: 2000, errorEvery: 50, shift: 40 }), shiftedProduction, PROFILE), 'input_drift')).toMatchObject({
      verdict: 'pass',
      reason: 'traffic_drifted',
    });
    expect(metric(judgeInterval(aggregateOf({ count: 2000, errorEvery: 50, shift: 80 }), shiftedProduction, PROFILE), 'input_drift')).toMatchObject({
      verdict: 'fail',
      reason: 'drifted_from_production',
    });
  });

  it('fails a canary less accurate than 0.95 × production with confidence, and passes one within noise of it', () => {
    // Production: 1 in 20 wrong (95%). Canary: 1 in 4 (75%), then 1 in 18 (94.4%).
    expect(metric(judgeInterval(aggregateOf({ count: 2000, errorEvery: 50, wrongEvery: 4 }), production, PROFILE), 'accuracy')).toMatchObject({
      verdict: 'fail',
      reason: 'less_accurate',
    });
    expect(metric(judgeInterval(aggregateOf({ count: 2000, errorEvery: 50, wrongEvery: 18 }), production, PROFILE), 'accuracy')).toMatchObject({ verdict: 'pass' });
  });

  it('judges regression accuracy by mean squared error', () => {
    const outcomes = (count: number, error: number): TelemetryAggregate =>
      foldObservations(
        emptyAggregate(),
        Array.from({ length: count }, (_, i) => ({ latencyMs: 10, error: false, prediction: { value: 1 + error * (uniform(i) - 0.5) }, label: 1 })),
      );
    expect(metric(judgeInterval(outcomes(500, 2), outcomes(500, 1), null), 'accuracy')).toMatchObject({ verdict: 'fail', reason: 'less_accurate' });
    expect(metric(judgeInterval(outcomes(500, 1), outcomes(500, 1), null), 'accuracy')).toMatchObject({ verdict: 'pass' });
  });

  it('calls too few samples on either side inconclusive, no_data, never pass or fail', () => {
    const sparse = aggregateOf({ count: 20, slower: 3, errorEvery: 2, shift: 80, wrongEvery: 2 });
    const verdicts = (canary: TelemetryAggregate, baseline: TelemetryAggregate) => {
      const judgement = judgeInterval(canary, baseline, PROFILE);
      return [judgement.verdict, ...judgement.metrics.map((entry) => `${entry.metric} ${entry.verdict} ${entry.reason}`)];
    };
    const noData = ['latency', 'error_rate', 'prediction_drift', 'input_drift', 'accuracy'].map((name) => `${name} inconclusive no_data`);
    expect(verdicts(sparse, production)).toEqual(['inconclusive', ...noData]);
    expect(verdicts(emptyAggregate(), emptyAggregate())).toEqual(['inconclusive', ...noData]);
    // Drift is judged against the reference, which is never short of samples: a sparse production holds up the rest.
    expect(verdicts(production, sparse)).toEqual([
      'inconclusive',
      'latency inconclusive no_data',
      'error_rate inconclusive no_data',
      'prediction_drift pass within_threshold',
      'input_drift pass within_threshold',
      'accuracy inconclusive no_data',
    ]);
  });

  it('does not hold an interval up for want of labels or a profile', () => {
    const unlabelled = foldObservations(
      emptyAggregate(),
      latencies(2000, 80).map((latencyMs) => ({ latencyMs, error: false })),
    );
    const judgement = judgeInterval(unlabelled, unlabelled, null);
    expect(judgement.verdict).toBe('pass');
    expect(metric(judgement, 'accuracy')).toMatchObject({ verdict: 'inconclusive', reason: 'no_data' });
    expect(metric(judgement, 'input_drift')).toMatchObject({ verdict: 'inconclusive', reason: 'no_data' });
  });

  it('answers plain JSON', () => {
    const judgement = judgeInterval(aggregateOf({ count: 2000, slower: 1.3 }), production, PROFILE);
    expect(JSON.parse(JSON.stringify(judgement))).toEqual(judgement);
  });
});
