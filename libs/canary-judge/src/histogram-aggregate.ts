import { addLatency, collapseLowest } from './latency-sketch';
import { emptyAggregate, type TelemetryAggregate } from './telemetry-aggregate';

/** One cumulative bucket of a Prometheus latency histogram over a window: `count` requests took at most `le` seconds (`le` may be Infinity, the +Inf bucket). */
export interface HistogramBucket {
  le: number;
  count: number;
}

/** What a metrics server counted for one version over a window; counts may be fractional, as `increase()` extrapolates them. */
export interface HistogramCounts {
  requests: number;
  errors: number;
  /** In any order; empty when the version served nothing. */
  buckets: readonly HistogramBucket[];
}

/**
 * The aggregate a metrics server's counts stand for, so the judge reads a
 * Prometheus version as it reads pushed telemetry. Bucket bounds are in
 * seconds (Prometheus' convention for `_duration_seconds` histograms); the
 * aggregate's latencies are in ms, as everywhere in canary-judge.
 *
 * `increase()` extrapolates each series to the window's edges, so its counts
 * are fractional: every count is rounded to the nearest whole request, since
 * the judge's tests count requests. Each bucket's series is extrapolated on
 * its own, so a higher bucket can read a little less than a lower one: the
 * cumulative counts are first made non-decreasing (as histogram_quantile
 * does), then rounded, then differenced, so each bucket's count is whole and
 * ≥ 0 and they sum to the rounded +Inf bucket. Errors are capped at the
 * requests for the same reason.
 *
 * A bucket's requests are placed in the latency sketch at its midpoint: the
 * mean of a bucket under histogram_quantile's assumption that values spread
 * evenly within it (the first bucket's lower bound is 0: latencies are not
 * negative). The requests above the highest finite bound (+Inf) are placed at
 * that bound, the value histogram_quantile gives for ranks there, since
 * nothing says how far above it they were. Where in its bucket a request is
 * put does not change a rank test: canary and production are binned by the
 * same bounds, so the Mann–Whitney test on their sketches is a test on the
 * binned data, each bucket a tie, which the judge's tie-corrected variance
 * accounts for. The placement moves only the p50 and p95 read from the sketch,
 * by at most half a bucket's width: buckets must be finer than the latency
 * ratio the judge should see (maxLatencyRatio, 10% by default).
 *
 * Throws RangeError for counts that are not finite numbers ≥ 0, a bound that
 * is negative or repeated, or buckets without a +Inf one (it holds the total:
 * the series were not all the histogram's, e.g. not summed `by (le)`).
 */
export function aggregateFromHistogram({ requests, errors, buckets }: HistogramCounts): TelemetryAggregate {
  assertCount('requests', requests);
  assertCount('errors', errors);
  const aggregate = emptyAggregate();
  aggregate.count = Math.round(requests);
  aggregate.errors = Math.min(Math.round(errors), aggregate.count);
  if (buckets.length === 0) return aggregate;

  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  sorted.forEach(({ le, count }, index) => {
    if (Number.isNaN(le) || le < 0) throw new RangeError(`a latency bucket's bound must be a number of seconds ≥ 0, not ${le}`);
    if (index > 0 && le === sorted[index - 1].le) throw new RangeError(`two latency buckets have the bound le="${boundText(le)}"`);
    assertCount(`the le="${boundText(le)}" bucket's count`, count);
  });
  if (sorted.at(-1)!.le !== Infinity) throw new RangeError('the latency buckets have no le="+Inf" bucket: sum the histogram\'s _bucket series by (le)');
  const finite = sorted.slice(0, -1);
  const total = Math.round(Math.max(...sorted.map(({ count }) => count)));
  if (finite.length === 0) {
    if (total > 0) throw new RangeError('the latency histogram has only a le="+Inf" bucket: it says how many requests, not how long they took');
    return aggregate;
  }

  let cumulative = 0;
  let below = 0;
  let lowerBound = 0;
  for (const { le, count } of finite) {
    cumulative = Math.max(cumulative, Math.round(count));
    addBucket(aggregate, ((lowerBound + le) / 2) * 1000, cumulative - below);
    below = cumulative;
    lowerBound = le;
  }
  addBucket(aggregate, lowerBound * 1000, total - below);
  collapseLowest(aggregate.latency);
  return aggregate;
}

function addBucket(aggregate: TelemetryAggregate, latencyMs: number, count: number): void {
  if (count > 0) addLatency(aggregate.latency, latencyMs, count);
}

/** A bound as Prometheus writes it in the `le` label. */
function boundText(le: number): string {
  return le === Infinity ? '+Inf' : String(le);
}

function assertCount(what: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${what} must be a finite number ≥ 0, not ${value}`);
}
