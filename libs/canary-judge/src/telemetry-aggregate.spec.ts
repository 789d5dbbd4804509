import { emptyAggregate, foldLabel, foldObservation, foldObservations, latencyQuantile, MAX_CLASS_KEYS, mergeAggregates, type Observation } from './telemetry-aggregate';
import { LATENCY_BIN_LIMIT } from './latency-sketch';
import { normalUpperQuantile } from './normal-distribution';
import { referenceProfile } from './reference-profile';
import { AggregateProfileMismatchError, ObservationError } from './errors';

/** n values of a distribution at the probabilities (i + ½)/n: its quantiles, exactly, in a shuffled order (a fixed stride through them). */
function quantileGrid(n: number, inverseCdf: (p: number) => number): number[] {
  const sorted = Array.from({ length: n }, (_, i) => inverseCdf((i + 0.5) / n));
  const stride = 7919; // prime, so i·stride mod n visits every index once when n is not its multiple
  return Array.from({ length: n }, (_, i) => sorted[(i * stride) % n]);
}

const logNormal = (median: number, sigma: number) => (p: number) => median * Math.exp(-sigma * normalUpperQuantile(p));

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

const PROFILE = referenceProfile(
  Array.from({ length: 200 }, (_, i) => ({ inputs: { age: 20 + (i % 50), pixels: [i % 3, (i * 7) % 11] }, label: i % 2 })),
  { task: 'classification' },
);

function observationsOf(count: number): Observation[] {
  return Array.from({ length: count }, (_, i) => ({
    latencyMs: 5 + ((i * 37) % 400),
    error: i % 17 === 0,
    prediction: { class: i % 3 },
    features: { age: 15 + (i % 60), pixels: [i % 4, i % 13] },
    label: i % 5 === 0 ? (i + 1) % 3 : i % 3,
  }));
}

describe('telemetry aggregates', () => {
  it.each([
    ['log-normal, median 100 ms, σ 0.8', logNormal(100, 0.8)],
    ['uniform over 1–1000 ms', (p: number) => 1 + 999 * p],
    ['exponential, mean 50 ms', (p: number) => -50 * Math.log(1 - p)],
  ])('reads quantiles within 1%% of the exact ones on %s', (_, inverseCdf) => {
    const latencies = quantileGrid(20_000, inverseCdf);
    const aggregate = foldObservations(
      emptyAggregate(),
      latencies.map((latencyMs) => ({ latencyMs, error: false })),
    );
    for (const q of [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = exactQuantile(latencies, q);
      expect(Math.abs(latencyQuantile(aggregate, q)! - exact) / exact).toBeLessThanOrEqual(0.01);
    }
  });

  it('has no quantile while empty, and counts zero latencies apart', () => {
    expect(latencyQuantile(emptyAggregate(), 0.5)).toBeNull();
    const aggregate = foldObservations(
      emptyAggregate(),
      [0, 0, 0, 10].map((latencyMs) => ({ latencyMs, error: false })),
    );
    expect(latencyQuantile(aggregate, 0.5)).toBe(0);
    expect(latencyQuantile(aggregate, 1)).toBeCloseTo(10, 0);
  });

  it('merges per-replica aggregates into exactly the aggregate of everything at once, in any order and grouping', () => {
    const observations = observationsOf(3000);
    const all = foldObservations(emptyAggregate(), observations, PROFILE);
    const replicas = [0, 1, 2].map((replica) =>
      foldObservations(
        emptyAggregate(),
        observations.filter((_, i) => i % 3 === replica),
        PROFILE,
      ),
    );
    const [a, b, c] = replicas;
    expect(mergeAggregates(mergeAggregates(a, b), c)).toEqual(all);
    expect(mergeAggregates(a, mergeAggregates(b, c))).toEqual(all);
    expect(mergeAggregates(c, mergeAggregates(a, b))).toEqual(all);
    expect(mergeAggregates(mergeAggregates(b, a), c)).toEqual(mergeAggregates(mergeAggregates(a, b), c));
    expect(mergeAggregates(emptyAggregate(), all)).toEqual(all);
    expect(mergeAggregates(all, emptyAggregate())).toEqual(all);
  });

  it('round-trips through JSON', () => {
    const aggregate = foldObservations(emptyAggregate(), observationsOf(500), PROFILE);
    expect(JSON.parse(JSON.stringify(aggregate))).toEqual(aggregate);
  });

  it('counts what was observed: errors, classes, binned features, labelled outcomes', () => {
    const aggregate = foldObservations(emptyAggregate(), observationsOf(3000), PROFILE);
    expect(aggregate.count).toBe(3000);
    expect(aggregate.errors).toBe(Math.ceil(3000 / 17));
    expect(aggregate.classes).toEqual({ '0': 1000, '1': 1000, '2': 1000 });
    expect(Object.keys(aggregate.features).sort()).toEqual(['age', 'pixels[0]', 'pixels[1]']);
    for (const histogram of Object.values(aggregate.features)) expect(histogram.counts.reduce((x, y) => x + y, 0) + histogram.missing).toBe(3000);
    expect(aggregate.classLabels).toEqual({ count: 3000, correct: 2400 });
  });

  it('stays bounded whatever it observes: latency buckets and class keys are capped', () => {
    const observations: Observation[] = Array.from({ length: 50_000 }, (_, i) => ({
      latencyMs: i === 0 ? 1e-300 : 10 ** (-3 + (9 * i) / 50_000),
      error: false,
      prediction: { class: `class-${i % 5000}` },
    }));
    const aggregate = foldObservations(emptyAggregate(), observations);
    expect(Object.keys(aggregate.latency.bins).length).toBeLessThanOrEqual(LATENCY_BIN_LIMIT);
    expect(Object.keys(aggregate.classes)).toHaveLength(MAX_CLASS_KEYS);
    expect(Object.values(aggregate.classes).reduce((x, y) => x + y, 0) + aggregate.otherClasses).toBe(50_000);
    expect(JSON.stringify(aggregate).length).toBeLessThan(100_000);
    // The upper quantiles, what canaries are judged by, are untouched by the collapse of the lowest buckets.
    expect(
      latencyQuantile(aggregate, 0.99)! /
        exactQuantile(
          observations.map((o) => o.latencyMs),
          0.99,
        ),
    ).toBeCloseTo(1, 1);
  });

  it('scores regression outcomes by squared error and never produces NaN from finite input', () => {
    const aggregate = foldObservations(emptyAggregate(), [
      { latencyMs: 1, error: false, prediction: { value: 2.5 }, label: 2 },
      { latencyMs: 1, error: false, prediction: { value: -1 }, label: 1 },
      { latencyMs: 1, error: false, prediction: { value: 1e200 }, label: 0 },
    ]);
    expect(aggregate.valueLabels.count).toBe(3);
    // 1e400 saturates rather than becoming Infinity, which JSON would turn into null.
    expect(aggregate.valueLabels.squaredErrorSum).toBe(Number.MAX_VALUE);
    expect(JSON.parse(JSON.stringify(aggregate))).toEqual(aggregate);
    expect(mergeAggregates(aggregate, aggregate).valueLabels.squaredErrorSquareSum).toBe(Number.MAX_VALUE);
  });

  it('counts a label that arrives after its prediction as an outcome, not as another request', () => {
    const aggregate = foldLabel(foldObservation(emptyAggregate(), { latencyMs: 3, error: false, prediction: { scores: [0.1, 0.7, 0.2] } }), { scores: [0.1, 0.7, 0.2] }, 1);
    expect(aggregate.count).toBe(1);
    expect(aggregate.classLabels).toEqual({ count: 1, correct: 1 });
  });

  it('refuses latencies and prediction values that are not finite, naming the observation', () => {
    expect(() =>
      foldObservations(emptyAggregate(), [
        { latencyMs: 1, error: false },
        { latencyMs: NaN, error: false },
      ]),
    ).toThrow(ObservationError);
    expect(() => foldObservation(emptyAggregate(), { latencyMs: -1, error: false })).toThrow(/observation 0: latencyMs/);
    expect(() => foldObservation(emptyAggregate(), { latencyMs: 1, error: false, prediction: { value: Infinity } })).toThrow(/prediction.value/);
  });

  it('counts non-finite feature values as missing', () => {
    const aggregate = foldObservation(emptyAggregate(), { latencyMs: 1, error: false, features: { age: NaN, pixels: [1] } }, PROFILE);
    expect(aggregate.features.age.missing).toBe(1);
    expect(aggregate.features['pixels[1]'].missing).toBe(1);
    expect(aggregate.features['pixels[0]'].counts.reduce((x, y) => x + y, 0)).toBe(1);
  });

  it('does not merge aggregates binned against different profiles', () => {
    const other = referenceProfile([{ inputs: { age: 1 } }, { inputs: { age: 2 } }], { task: 'classification' });
    const first = foldObservation(emptyAggregate(), observationsOf(1)[0], PROFILE);
    const second = foldObservation(emptyAggregate(), observationsOf(1)[0], other);
    expect(() => mergeAggregates(first, second)).toThrow(AggregateProfileMismatchError);
    expect(() => foldObservation(first, observationsOf(1)[0], other)).toThrow(AggregateProfileMismatchError);
  });
});
