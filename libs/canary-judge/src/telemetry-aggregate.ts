import { AggregateProfileMismatchError, ObservationError } from './errors';
import { addLatency, addLatencySketch, collapseLowest, emptyLatencySketch, sketchQuantile, type LatencySketch } from './latency-sketch';
import { binIndex, classKey, type FeatureReference, type ReferenceProfile } from './reference-profile';

/** What a serving system reports about one prediction. */
export interface Observation {
  latencyMs: number;
  error: boolean;
  prediction?: { class?: string | number; value?: number; scores?: number[] };
  /** Inputs by name: a number, or a 1-D array whose elements are the features `name[i]`. */
  features?: Record<string, number | number[]>;
  label?: string | number;
}

/** Counts over the bins of one FeatureReference (edges.length + 1 of them), plus values that were missing or not finite. */
export interface BinnedCounts {
  counts: number[];
  missing: number;
}

/**
 * What a version did over an interval, as plain JSON (a Postgres jsonb
 * value), bounded whatever the number of observations: at most
 * LATENCY_BIN_LIMIT latency buckets, MAX_CLASS_KEYS class keys, and one
 * histogram per feature of the reference profile. Merging two is exact for
 * every count; float sums may differ in their last bits with the order.
 */
export interface TelemetryAggregate {
  count: number;
  errors: number;
  latency: LatencySketch;
  /** Predicted class -> count, for the MAX_CLASS_KEYS smallest keys; the rest in otherClasses. */
  classes: Record<string, number>;
  otherClasses: number;
  /** Fingerprint of the reference profile the histograms below are binned against; null before anything was binned. */
  profile: string | null;
  /** Predicted values (regression) binned like the profile's reference predictions. */
  predictionValues: BinnedCounts | null;
  /** Features of the profile, binned like it. Features it does not know are not kept. */
  features: Record<string, BinnedCounts>;
  /** Classification outcomes: observations with a label and a class prediction, and how many matched. */
  classLabels: { count: number; correct: number };
  /** Regression outcomes: observations with a numeric label and a value prediction, Σ e² and Σ e⁴ (for the variance of the squared error), saturating at Number.MAX_VALUE. */
  valueLabels: { count: number; squaredErrorSum: number; squaredErrorSquareSum: number };
}

/** Class keys kept by name; beyond them counts go to otherClasses, keeping the smallest keys (string order) so merging stays associative. */
export const MAX_CLASS_KEYS = 1024;

export function emptyAggregate(): TelemetryAggregate {
  return {
    count: 0,
    errors: 0,
    latency: emptyLatencySketch(),
    classes: {},
    otherClasses: 0,
    profile: null,
    predictionValues: null,
    features: {},
    classLabels: { count: 0, correct: 0 },
    valueLabels: { count: 0, squaredErrorSum: 0, squaredErrorSquareSum: 0 },
  };
}

/**
 * The aggregate with the observations folded in (the input is not changed).
 * Without a profile, features and predicted values are not binned (drift is
 * then "no data"). Throws ObservationError, naming the observation's index,
 * for a latency that is not a finite number ≥ 0 or a prediction value that
 * is not finite: counting those would put NaN into sums. Non-finite feature
 * values count as missing.
 */
export function foldObservations(aggregate: TelemetryAggregate, observations: readonly Observation[], profile?: ReferenceProfile): TelemetryAggregate {
  const folded = structuredClone(aggregate);
  if (profile) bindProfile(folded, profile);
  observations.forEach((observation, index) => foldInto(folded, observation, index, profile));
  collapseLowest(folded.latency);
  capClasses(folded);
  return folded;
}

export function foldObservation(aggregate: TelemetryAggregate, observation: Observation, profile?: ReferenceProfile): TelemetryAggregate {
  return foldObservations(aggregate, [observation], profile);
}

/**
 * A label that arrived after its prediction was reported (matched by the
 * caller, e.g. by request id): counts the outcome only, not another request.
 */
export function foldLabel(aggregate: TelemetryAggregate, prediction: NonNullable<Observation['prediction']>, label: string | number): TelemetryAggregate {
  assertFiniteValue(prediction, 0);
  const folded = structuredClone(aggregate);
  countOutcome(folded, prediction, label);
  return folded;
}

/** a + b: associative and commutative, so replicas and intervals merge in any order. */
export function mergeAggregates(a: TelemetryAggregate, b: TelemetryAggregate): TelemetryAggregate {
  if (a.profile !== null && b.profile !== null && a.profile !== b.profile) throw new AggregateProfileMismatchError(a.profile, b.profile);
  const merged = structuredClone(a);
  merged.count += b.count;
  merged.errors += b.errors;
  addLatencySketch(merged.latency, b.latency);
  for (const key in b.classes) merged.classes[key] = (merged.classes[key] ?? 0) + b.classes[key];
  merged.otherClasses += b.otherClasses;
  capClasses(merged);
  merged.profile ??= b.profile;
  if (b.predictionValues) merged.predictionValues = merged.predictionValues ? addBinned(merged.predictionValues, b.predictionValues) : structuredClone(b.predictionValues);
  for (const name in b.features) merged.features[name] = merged.features[name] ? addBinned(merged.features[name], b.features[name]) : structuredClone(b.features[name]);
  merged.classLabels.count += b.classLabels.count;
  merged.classLabels.correct += b.classLabels.correct;
  merged.valueLabels.count += b.valueLabels.count;
  merged.valueLabels.squaredErrorSum = saturatingSum(merged.valueLabels.squaredErrorSum, b.valueLabels.squaredErrorSum);
  merged.valueLabels.squaredErrorSquareSum = saturatingSum(merged.valueLabels.squaredErrorSquareSum, b.valueLabels.squaredErrorSquareSum);
  return merged;
}

/** Latency at quantile q (0.5 median, 0.95 p95), within 1% of the observed value at that rank; null when nothing was observed. */
export function latencyQuantile(aggregate: TelemetryAggregate, q: number): number | null {
  return sketchQuantile(aggregate.latency, q);
}

function bindProfile(aggregate: TelemetryAggregate, profile: ReferenceProfile): void {
  if (aggregate.profile !== null && aggregate.profile !== profile.fingerprint) throw new AggregateProfileMismatchError(aggregate.profile, profile.fingerprint);
  aggregate.profile = profile.fingerprint;
  for (const [name, reference] of Object.entries(profile.features)) aggregate.features[name] ??= emptyBinned(reference);
  if (profile.predictions?.kind === 'values') aggregate.predictionValues ??= emptyBinned(profile.predictions);
}

function foldInto(aggregate: TelemetryAggregate, observation: Observation, index: number, profile: ReferenceProfile | undefined): void {
  const { latencyMs, prediction } = observation;
  if (!(Number.isFinite(latencyMs) && latencyMs >= 0))
    throw new ObservationError(`observation ${index}: latencyMs must be a finite number ≥ 0, not ${latencyMs}`, { index, field: 'latencyMs' });
  if (prediction) assertFiniteValue(prediction, index);
  aggregate.count++;
  if (observation.error) aggregate.errors++;
  addLatency(aggregate.latency, latencyMs);

  const predictedClass = prediction ? predictionClass(prediction) : null;
  if (predictedClass !== null) aggregate.classes[predictedClass] = (aggregate.classes[predictedClass] ?? 0) + 1;

  if (profile) {
    if (prediction?.value !== undefined && profile.predictions?.kind === 'values') countBin(aggregate.predictionValues!, profile.predictions, prediction.value);
    for (const [name, reference] of Object.entries(profile.features)) countBin(aggregate.features[name], reference, featureValue(observation.features, name));
  }
  if (prediction && observation.label !== undefined) countOutcome(aggregate, prediction, observation.label);
}

function assertFiniteValue(prediction: NonNullable<Observation['prediction']>, index: number): void {
  if (prediction.value !== undefined && !Number.isFinite(prediction.value)) {
    throw new ObservationError(`observation ${index}: prediction.value must be a finite number, not ${prediction.value}`, { index, field: 'prediction.value' });
  }
}

function countOutcome(aggregate: TelemetryAggregate, prediction: NonNullable<Observation['prediction']>, label: string | number): void {
  if (prediction.value !== undefined) {
    if (typeof label !== 'number' || !Number.isFinite(label)) return;
    const squaredError = (prediction.value - label) ** 2;
    aggregate.valueLabels.count++;
    aggregate.valueLabels.squaredErrorSum = saturatingSum(aggregate.valueLabels.squaredErrorSum, squaredError);
    aggregate.valueLabels.squaredErrorSquareSum = saturatingSum(aggregate.valueLabels.squaredErrorSquareSum, squaredError ** 2);
    return;
  }
  const predictedClass = predictionClass(prediction);
  const labelClass = classKey(label);
  if (predictedClass === null || labelClass === null) return;
  aggregate.classLabels.count++;
  if (predictedClass === labelClass) aggregate.classLabels.correct++;
}

function predictionClass(prediction: NonNullable<Observation['prediction']>): string | null {
  return prediction.class !== undefined ? classKey(prediction.class) : prediction.scores !== undefined ? classKey(prediction.scores) : null;
}

/** A feature's value in an observation: `name` itself, or element i of the array `base` for `base[i]`. */
function featureValue(features: Observation['features'], name: string): number | undefined {
  if (!features) return undefined;
  const direct = features[name];
  if (typeof direct === 'number') return direct;
  const element = /^(.*)\[(\d+)\]$/.exec(name);
  if (!element) return undefined;
  const array = features[element[1]];
  return Array.isArray(array) ? array[Number(element[2])] : undefined;
}

function countBin(histogram: BinnedCounts, reference: FeatureReference, value: number | undefined): void {
  if (typeof value === 'number' && Number.isFinite(value)) histogram.counts[binIndex(reference.edges, value)]++;
  else histogram.missing++;
}

function emptyBinned(reference: FeatureReference): BinnedCounts {
  return { counts: new Array<number>(reference.edges.length + 1).fill(0), missing: 0 };
}

function addBinned(a: BinnedCounts, b: BinnedCounts): BinnedCounts {
  if (a.counts.length !== b.counts.length) throw new RangeError(`histograms of ${a.counts.length} and ${b.counts.length} bins cannot be added`);
  return { counts: a.counts.map((count, bin) => count + b.counts[bin]), missing: a.missing + b.missing };
}

/**
 * a + b, stopping at Number.MAX_VALUE: JSON has no Infinity (it would come
 * back as null), so huge errors saturate, and tests treat a saturated sum as
 * unreadable.
 */
function saturatingSum(a: number, b: number): number {
  return Math.min(a + b, Number.MAX_VALUE);
}

/** Keeps the MAX_CLASS_KEYS smallest keys: the same keys whatever order aggregates merge in. */
function capClasses(aggregate: TelemetryAggregate): void {
  const keys = Object.keys(aggregate.classes);
  if (keys.length <= MAX_CLASS_KEYS) return;
  keys.sort();
  for (const key of keys.slice(MAX_CLASS_KEYS)) {
    aggregate.otherClasses += aggregate.classes[key];
    delete aggregate.classes[key];
  }
}
