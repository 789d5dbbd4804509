import { compareDistributions, inputDrift, predictionDrift, PSI_EPSILON } from './drift';
import { binIndex, classKey, referenceProfile, type ReferenceExample } from './reference-profile';
import { emptyAggregate, foldObservations, type Observation } from './telemetry-aggregate';

/** Values at evenly spaced points of [0, 1), in a scrambled order: a uniform sample without a generator. */
const uniform = (i: number) => (i * 0.6180339887498949) % 1;

function examples(count: number): ReferenceExample[] {
  return Array.from({ length: count }, (_, i) => ({
    inputs: {
      income: 1000 * uniform(i),
      flag: i % 4 === 0 ? 1 : 0,
      embedding: Array.from({ length: 64 }, () => 0.5),
      pair: [uniform(i + 7), 2 * uniform(i + 3)],
      grid: [[1], [2]],
      name: 'a',
    },
    label: i % 10 < 7 ? 0 : 1,
    outputs: { probabilities: i % 10 < 6 ? [0.8, 0.2] : [0.3, 0.7] },
  }));
}

describe('reference profile', () => {
  const profile = referenceProfile(examples(1000), { task: 'classification' });

  it('bins each numeric feature at its deciles, and fewer bins where values repeat', () => {
    expect(Object.keys(profile.features)).toEqual(['flag', 'income', 'pair[0]', 'pair[1]']);
    expect(profile.features.income.edges).toHaveLength(9);
    expect(profile.features.income.counts).toEqual(new Array(10).fill(100));
    // 0 three times in four, 1 otherwise: one edge, at 0, and two bins.
    expect(profile.features.flag).toEqual({ edges: [0], counts: [750, 250] });
  });

  it('says which inputs it skipped and why', () => {
    expect(profile.skipped).toEqual([
      { name: 'embedding', reason: 'too_large', elements: 64 },
      { name: 'grid', reason: 'not_1d', elements: 2 },
      { name: 'name', reason: 'not_numeric', elements: 1 },
    ]);
  });

  it('takes the prediction distribution from the outputs, and scores them against the labels', () => {
    expect(profile.predictions).toEqual({ kind: 'classes', source: 'outputs', counts: { '0': 600, '1': 400 } });
    expect(profile.accuracy).toBeCloseTo(0.9, 10);
    const fromLabels = referenceProfile(
      examples(100).map(({ inputs, label }) => ({ inputs, label })),
      { task: 'classification' },
    );
    expect(fromLabels.predictions).toEqual({ kind: 'classes', source: 'labels', counts: { '0': 70, '1': 30 } });
    expect(fromLabels.accuracy).toBeNull();
  });

  it('bins regression predictions like a feature', () => {
    const regression = referenceProfile(
      Array.from({ length: 500 }, (_, i) => ({ inputs: { x: i }, label: 2 * uniform(i), outputs: { y: [2 * uniform(i) + 0.1] } })),
      { task: 'regression' },
    );
    expect(regression.predictions).toMatchObject({ kind: 'values', source: 'outputs' });
    expect(regression.meanSquaredError).toBeCloseTo(0.01, 10);
  });

  it('is plain JSON, and its fingerprint follows the binning only', () => {
    expect(JSON.parse(JSON.stringify(profile))).toEqual(profile);
    expect(referenceProfile(examples(1000), { task: 'classification' }).fingerprint).toBe(profile.fingerprint);
    expect(referenceProfile(examples(500), { task: 'classification' }).fingerprint).not.toBe(profile.fingerprint);
  });

  it('puts a value equal to an edge in the bin below it', () => {
    expect([-5, 0, 0.5, 1, 1.5, 2, 9].map((value) => binIndex([0, 1, 2], value))).toEqual([0, 0, 1, 1, 2, 2, 3]);
  });

  it('reads class keys from classes, scores and binary probabilities', () => {
    expect([classKey('cat'), classKey(3), classKey([0.1, 0.6, 0.3]), classKey([[0, 0, 1]]), classKey([0.7]), classKey([0.2]), classKey([2]), classKey({})]).toEqual([
      'cat',
      '3',
      '1',
      '2',
      '1',
      '0',
      '2',
      null,
    ]);
  });
});

describe('drift', () => {
  const profile = referenceProfile(examples(1000), { task: 'classification' });
  const traffic = (count: number, shift: number, positiveShare: number): Observation[] =>
    Array.from({ length: count }, (_, i) => ({
      latencyMs: 10,
      error: false,
      prediction: { class: uniform(i + 11) < positiveShare ? 1 : 0 },
      features: { income: 1000 * uniform(i + 5) + shift, flag: i % 4 === 0 ? 1 : 0, pair: [uniform(i + 1), 2 * uniform(i + 2)] },
    }));

  it('computes PSI, KS and Jensen–Shannon as their definitions do', () => {
    const statistics = compareDistributions([50, 30, 20], [20, 30, 50]);
    expect(statistics.psi).toBeCloseTo(2 * 0.3 * Math.log(0.5 / 0.2), 12);
    expect(statistics.ks).toBeCloseTo(0.3, 12);
    const m = [0.35, 0.3, 0.35];
    const kl = (p: number[]) => p.reduce((total, x, i) => total + x * Math.log2(x / m[i]), 0);
    expect(statistics.jensenShannon).toBeCloseTo((kl([0.5, 0.3, 0.2]) + kl([0.2, 0.3, 0.5])) / 2, 12);
    expect(compareDistributions([1, 0], [0, 1]).jensenShannon).toBe(1);
    expect(compareDistributions([1, 0], [0, 1]).psi).toBeCloseTo(2 * (1 - PSI_EPSILON) * Math.log(1 / PSI_EPSILON), 10);
    expect(compareDistributions([5, 5], [50, 50])).toMatchObject({ psi: 0, ks: 0, jensenShannon: 0, ksPValue: 1 });
  });

  it('finds the same traffic stable and a shifted feature drifted', () => {
    const stable = inputDrift(foldObservations(emptyAggregate(), traffic(2000, 0, 0.4), profile), profile, 200);
    expect(stable.score!).toBeLessThan(0.02);
    const shifted = inputDrift(foldObservations(emptyAggregate(), traffic(2000, 250, 0.4), profile), profile, 200);
    expect(shifted.worst).toBe('income');
    expect(shifted.score!).toBeGreaterThan(0.3);
    expect(shifted.features.income.ks).toBeCloseTo(0.25, 1);
    expect(shifted.features.income.ksPValue).toBeLessThan(1e-6);
    expect(shifted.features.flag.psi).toBeLessThan(0.01);
  });

  it('finds predictions drifted when the classes change shares, and reads too few observations as no data', () => {
    expect(predictionDrift(foldObservations(emptyAggregate(), traffic(2000, 0, 0.4), profile), profile, 200)!.psi).toBeLessThan(0.01);
    expect(predictionDrift(foldObservations(emptyAggregate(), traffic(2000, 0, 0.8), profile), profile, 200)!.psi).toBeGreaterThan(0.3);
    expect(predictionDrift(foldObservations(emptyAggregate(), traffic(50, 0, 0.8), profile), profile, 200)).toBeNull();
    expect(inputDrift(foldObservations(emptyAggregate(), traffic(50, 0, 0.4), profile), profile, 200).score).toBeNull();
  });
});
