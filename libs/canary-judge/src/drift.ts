import type { ReferenceProfile } from './reference-profile';
import type { TelemetryAggregate } from './telemetry-aggregate';

/**
 * How far one distribution over a set of bins is from another. `psi` is the
 * drift score: the thresholds of the product brief (warning 0.1, critical
 * 0.3, ModelDriftDetected above 0.2) are the usual reading of PSI (below 0.1
 * stable, 0.1–0.25 some shift, above 0.25 a major one: Siddiqi, "Credit Risk
 * Scorecards", 2006).
 */
export interface DriftStatistics {
  /** Population stability index Σ (a - e) ln(a / e) over bin proportions, with empty bins at PSI_EPSILON. */
  psi: number;
  /** Kolmogorov–Smirnov: the largest gap between the two cumulative distributions at a bin edge. */
  ks: number;
  /** The KS statistic's asymptotic p-value for these sample sizes (conservative on binned data). */
  ksPValue: number;
  /** Jensen–Shannon divergence in bits, in [0, 1]. */
  jensenShannon: number;
  /** Observations in the distribution compared with the reference. */
  samples: number;
}

/** Input drift: every feature with enough observations, and the score, the largest PSI among them. */
export interface DriftReport {
  /** The largest PSI of any feature: one drifted feature is enough to matter. Null when no feature had minSamples observations. */
  score: number | null;
  /** The feature with that score. */
  worst: string | null;
  features: Record<string, DriftStatistics>;
}

/**
 * The proportion an empty bin counts as in PSI, whose ln(a / e) is infinite
 * at an empty bin: 1e-4, the floor most implementations use. Reference bins
 * are quantile bins and never empty but for degenerate features; an empty
 * bin on the live side contributes about 0.1 · ln(0.1 / 1e-4) ≈ 0.7 against a
 * decile, which is what a vanished decile should read as.
 */
export const PSI_EPSILON = 1e-4;

/** Compares `actual` with `expected`, two sets of counts over the same bins. */
export function compareDistributions(expected: readonly number[], actual: readonly number[]): DriftStatistics {
  if (expected.length !== actual.length) throw new RangeError(`distributions over ${expected.length} and ${actual.length} bins cannot be compared`);
  const expectedTotal = sum(expected);
  const actualTotal = sum(actual);
  if (expectedTotal === 0 || actualTotal === 0) throw new RangeError('an empty distribution cannot be compared');
  let psi = 0;
  let ks = 0;
  let jensenShannon = 0;
  let expectedCumulative = 0;
  let actualCumulative = 0;
  for (let bin = 0; bin < expected.length; bin++) {
    const e = expected[bin] / expectedTotal;
    const a = actual[bin] / actualTotal;
    const eFloored = Math.max(e, PSI_EPSILON);
    const aFloored = Math.max(a, PSI_EPSILON);
    psi += (aFloored - eFloored) * Math.log(aFloored / eFloored);
    expectedCumulative += e;
    actualCumulative += a;
    ks = Math.max(ks, Math.abs(actualCumulative - expectedCumulative));
    const m = (e + a) / 2;
    if (e > 0) jensenShannon += 0.5 * e * Math.log2(e / m);
    if (a > 0) jensenShannon += 0.5 * a * Math.log2(a / m);
  }
  return { psi, ks, ksPValue: kolmogorovSmirnovPValue(ks, expectedTotal, actualTotal), jensenShannon: Math.min(1, Math.max(0, jensenShannon)), samples: actualTotal };
}

/** Each profiled feature of the aggregate against the reference. */
export function inputDrift(aggregate: TelemetryAggregate, profile: ReferenceProfile, minSamples: number): DriftReport {
  const features: Record<string, DriftStatistics> = {};
  if (aggregate.profile !== profile.fingerprint) return { score: null, worst: null, features };
  for (const [name, reference] of Object.entries(profile.features)) {
    const observed = aggregate.features[name];
    if (!observed || sum(observed.counts) < Math.max(1, minSamples)) continue;
    features[name] = compareDistributions(reference.counts, observed.counts);
  }
  return withScore(features);
}

/** The same between two aggregates binned against one profile (canary against production over one window). */
export function inputDriftBetween(expected: TelemetryAggregate, actual: TelemetryAggregate, minSamples: number): DriftReport {
  const features: Record<string, DriftStatistics> = {};
  if (expected.profile === null || expected.profile !== actual.profile) return { score: null, worst: null, features };
  for (const [name, observed] of Object.entries(actual.features)) {
    const baseline = expected.features[name];
    if (!baseline || sum(observed.counts) < Math.max(1, minSamples) || sum(baseline.counts) < Math.max(1, minSamples)) continue;
    features[name] = compareDistributions(baseline.counts, observed.counts);
  }
  return withScore(features);
}

/**
 * Predictions against the reference's: classes over the reference's class
 * keys plus one bin for classes it never had (KS then reads the classes in
 * key order, which means little; PSI and JS do not depend on it), values
 * over the reference's bins. Null without a reference or minSamples predictions.
 */
export function predictionDrift(aggregate: TelemetryAggregate, profile: ReferenceProfile, minSamples: number): DriftStatistics | null {
  const reference = profile.predictions;
  if (!reference) return null;
  const [expected, actual] = reference.kind === 'classes' ? classBins(reference.counts, aggregate) : valueBins(reference.counts, aggregate, profile);
  if (sum(actual) < Math.max(1, minSamples)) return null;
  return compareDistributions(expected, actual);
}

/** Prediction distributions of two aggregates over one set of bins, as predictionDrift reads them. */
export function predictionDriftBetween(expected: TelemetryAggregate, actual: TelemetryAggregate, profile: ReferenceProfile, minSamples: number): DriftStatistics | null {
  const reference = profile.predictions;
  if (!reference) return null;
  const [, expectedCounts] = reference.kind === 'classes' ? classBins(reference.counts, expected) : valueBins(reference.counts, expected, profile);
  const [, actualCounts] = reference.kind === 'classes' ? classBins(reference.counts, actual) : valueBins(reference.counts, actual, profile);
  if (sum(actualCounts) < Math.max(1, minSamples) || sum(expectedCounts) < Math.max(1, minSamples)) return null;
  return compareDistributions(expectedCounts, actualCounts);
}

function classBins(referenceCounts: Record<string, number>, aggregate: TelemetryAggregate): [number[], number[]] {
  const keys = Object.keys(referenceCounts).sort();
  const known = new Set(keys);
  let unseen = aggregate.otherClasses;
  for (const [key, count] of Object.entries(aggregate.classes)) if (!known.has(key)) unseen += count;
  return [
    [...keys.map((key) => referenceCounts[key]), 0],
    [...keys.map((key) => aggregate.classes[key] ?? 0), unseen],
  ];
}

function valueBins(referenceCounts: number[], aggregate: TelemetryAggregate, profile: ReferenceProfile): [number[], number[]] {
  const observed = aggregate.profile === profile.fingerprint ? aggregate.predictionValues : null;
  return [referenceCounts, observed ? observed.counts : referenceCounts.map(() => 0)];
}

function withScore(features: Record<string, DriftStatistics>): DriftReport {
  let worst: string | null = null;
  for (const [name, statistics] of Object.entries(features)) if (worst === null || statistics.psi > features[worst].psi) worst = name;
  return { score: worst === null ? null : features[worst].psi, worst, features };
}

/**
 * P(D ≥ d) under the null, by the Kolmogorov distribution with Stephens'
 * small-sample correction λ = (√n + 0.12 + 0.11/√n)·d, n = n₁n₂/(n₁+n₂)
 * (Numerical Recipes, 2nd ed., §14.3, `probks`).
 */
function kolmogorovSmirnovPValue(d: number, n1: number, n2: number): number {
  const n = Math.sqrt((n1 * n2) / (n1 + n2));
  const lambda = (n + 0.12 + 0.11 / n) * d;
  if (lambda < 1e-3) return 1;
  let total = 0;
  let sign = 1;
  for (let j = 1; j <= 100; j++) {
    const term = sign * Math.exp(-2 * j * j * lambda * lambda);
    total += term;
    if (Math.abs(term) < 1e-12) return Math.min(1, Math.max(0, 2 * total));
    sign = -sign;
  }
  // The series does not converge as λ goes to 0: there the p-value is 1.
  return 1;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
