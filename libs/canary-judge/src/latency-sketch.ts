import { DDSketch } from '@datadog/sketches-js';

/**
 * A DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable
 * quantile sketch with relative-error guarantees", VLDB 2019) as plain JSON:
 * bucket `k` counts the values in (γ^(k-1), γ^k], γ = (1 + α) / (1 - α), so
 * any quantile read from it is within α (1%) of the true value at that rank.
 *
 * The buckets are those of @datadog/sketches-js's LogarithmicMapping, and
 * quantiles are read by that library. Its sketch objects are not what is
 * stored: they serialise only to protobuf, and their stores' layout (offset,
 * chunks, when they collapse) depends on the order values arrived in. Adding
 * bucket counts is exact and order-free, so merging these is associative and
 * commutative to the last bit.
 */
export interface LatencySketch {
  /** α: a quantile read from the sketch is within this fraction of the true one. */
  relativeAccuracy: number;
  /** Values too small for the log buckets (≤ ~1e-308 ms): exact zeros. */
  zeroCount: number;
  /** Bucket key -> count, only buckets that hold values. */
  bins: Record<string, number>;
  /** Smallest and largest value seen, null while empty. */
  min: number | null;
  max: number | null;
}

export const LATENCY_RELATIVE_ACCURACY = 0.01;

/**
 * At most this many buckets: beyond it the lowest collapse into the lowest
 * kept one, as the library's CollapsingLowestDenseStore does, so the sketch
 * stays bounded and its upper quantiles (what canaries are judged by) exact.
 * At α = 1%, 2048 buckets span a factor of about 10^17, far beyond any
 * latency's range in milliseconds, so collapsing is a bound, not a habit.
 */
export const LATENCY_BIN_LIMIT = 2048;

/** The library's LogarithmicMapping, the one its DDSketch uses (the package's index exports only the sketches). */
const MAPPING = new DDSketch({ relativeAccuracy: LATENCY_RELATIVE_ACCURACY }).mapping;

export function emptyLatencySketch(): LatencySketch {
  return { relativeAccuracy: LATENCY_RELATIVE_ACCURACY, zeroCount: 0, bins: {}, min: null, max: null };
}

export function latencyCount(sketch: LatencySketch): number {
  let count = sketch.zeroCount;
  for (const key in sketch.bins) count += sketch.bins[key];
  return count;
}

/** Adds a value (ms, finite, ≥ 0) to the sketch in place, `count` times (a histogram bucket's requests at once). */
export function addLatency(sketch: LatencySketch, value: number, count = 1): void {
  if (value > MAPPING.minPossible) {
    const key = String(MAPPING.key(value));
    sketch.bins[key] = (sketch.bins[key] ?? 0) + count;
  } else {
    sketch.zeroCount += count;
  }
  sketch.min = sketch.min === null ? value : Math.min(sketch.min, value);
  sketch.max = sketch.max === null ? value : Math.max(sketch.max, value);
}

/** Adds `source`'s counts into `target` in place. */
export function addLatencySketch(target: LatencySketch, source: LatencySketch): void {
  assertSameAccuracy(target, source);
  target.zeroCount += source.zeroCount;
  for (const key in source.bins) target.bins[key] = (target.bins[key] ?? 0) + source.bins[key];
  if (source.min !== null) target.min = target.min === null ? source.min : Math.min(target.min, source.min);
  if (source.max !== null) target.max = target.max === null ? source.max : Math.max(target.max, source.max);
  collapseLowest(target);
}

/** Folds the buckets below the newest LATENCY_BIN_LIMIT into the lowest kept one. */
export function collapseLowest(sketch: LatencySketch): void {
  const keys = Object.keys(sketch.bins).map(Number);
  if (keys.length === 0) return;
  const lowestKept = Math.max(...keys) - LATENCY_BIN_LIMIT + 1;
  let collapsed = 0;
  for (const key of keys) {
    if (key < lowestKept) {
      collapsed += sketch.bins[key];
      delete sketch.bins[key];
    }
  }
  if (collapsed > 0) sketch.bins[lowestKept] = (sketch.bins[lowestKept] ?? 0) + collapsed;
}

/** The value at quantile q (0 ≤ q ≤ 1), within relativeAccuracy of the value at rank ⌊q·(n-1)⌋; null when empty. */
export function sketchQuantile(sketch: LatencySketch, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile must lie in [0, 1], not ${q}`);
  if (latencyCount(sketch) === 0) return null;
  // The library's own quantile walk, on a sketch rebuilt from the buckets: each bucket's
  // representative value maps back to its key, so the rebuilt sketch has the same buckets.
  const ddsketch = new DDSketch({ relativeAccuracy: sketch.relativeAccuracy });
  if (sketch.zeroCount > 0) ddsketch.accept(0, sketch.zeroCount);
  for (const key in sketch.bins) ddsketch.accept(MAPPING.value(Number(key)), sketch.bins[key]);
  return ddsketch.getValueAtQuantile(q);
}

/**
 * The sketch's buckets lowest first, as [key, count]; the zero bucket is key
 * -Infinity. Values in one bucket are indistinguishable: rank tests treat
 * them as ties.
 */
export function latencyBuckets(sketch: LatencySketch): [number, number][] {
  const buckets: [number, number][] = Object.entries(sketch.bins).map(([key, count]) => [Number(key), count]);
  buckets.sort((a, b) => a[0] - b[0]);
  if (sketch.zeroCount > 0) buckets.unshift([-Infinity, sketch.zeroCount]);
  return buckets;
}

function assertSameAccuracy(a: LatencySketch, b: LatencySketch): void {
  if (a.relativeAccuracy !== b.relativeAccuracy) {
    throw new RangeError(`latency sketches of relative accuracy ${a.relativeAccuracy} and ${b.relativeAccuracy} have different buckets and cannot be merged`);
  }
}
