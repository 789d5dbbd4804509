import { aggregateFromHistogram, type HistogramBucket } from './histogram-aggregate';
import { judgeInterval } from './judge';
import { latencyCount } from './latency-sketch';
import { latencyQuantile } from './telemetry-aggregate';

/** Cumulative buckets at `bounds` (seconds) and +Inf from per-bucket counts, the last count being the requests above the highest bound. */
function cumulative(bounds: number[], perBucket: number[]): HistogramBucket[] {
  let total = 0;
  return [...bounds, Infinity].map((le, index) => ({ le, count: (total += perBucket[index]) }));
}

/** 5% apart from 10 ms: finer than the 10% slowdown the judge fails on. */
const BOUNDS = Array.from({ length: 40 }, (_, index) => 0.01 * 1.05 ** index);

/** Requests spread over buckets first…first+width-1, a triangle peaking in the middle. */
function traffic(first: number, width: number, scale: number): number[] {
  const counts = new Array<number>(BOUNDS.length + 1).fill(0);
  for (let offset = 0; offset < width; offset++) counts[first + offset] = scale * (Math.min(offset, width - 1 - offset) + 1);
  return counts;
}

describe('aggregateFromHistogram', () => {
  it('places each bucket at its midpoint in ms, and the requests above the highest bound at that bound', () => {
    const aggregate = aggregateFromHistogram({ requests: 10, errors: 1, buckets: cumulative([0.01, 0.02, 0.05], [4, 3, 2, 1]) });
    expect(aggregate).toMatchObject({ count: 10, errors: 1 });
    expect(latencyCount(aggregate.latency)).toBe(10);
    expect(aggregate.latency.min).toBeCloseTo(5, 9);
    expect(aggregate.latency.max).toBeCloseTo(50, 9);
    // Within the sketch's 1% of the midpoints 5, 15 and 35 ms.
    expect(latencyQuantile(aggregate, 0)! / 5).toBeCloseTo(1, 1);
    expect(latencyQuantile(aggregate, 0.5)! / 15).toBeCloseTo(1, 1);
    expect(latencyQuantile(aggregate, 0.8)! / 35).toBeCloseTo(1, 1);
    expect(latencyQuantile(aggregate, 1)! / 50).toBeCloseTo(1, 1);
  });

  it('rounds the fractional counts of increase() and makes the cumulative counts non-decreasing first', () => {
    const aggregate = aggregateFromHistogram({
      requests: 20.6,
      errors: 2.4,
      buckets: [
        { le: Infinity, count: 20.6 },
        { le: 0.02, count: 10.2 },
        { le: 0.01, count: 10.4 },
      ],
    });
    expect(aggregate).toMatchObject({ count: 21, errors: 2 });
    // 10 below 10 ms, none in (10, 20] ms although its series read 0.2 less, 11 above.
    expect(latencyCount(aggregate.latency)).toBe(21);
    expect(latencyQuantile(aggregate, 9 / 20)! / 5).toBeCloseTo(1, 1);
    expect(latencyQuantile(aggregate, 10 / 20)! / 20).toBeCloseTo(1, 1);
  });

  it('reads no traffic as zero counts and an empty sketch, and caps errors at the requests', () => {
    expect(aggregateFromHistogram({ requests: 0, errors: 0, buckets: [] })).toMatchObject({ count: 0, errors: 0, latency: { bins: {}, zeroCount: 0 } });
    expect(aggregateFromHistogram({ requests: 0, errors: 0, buckets: cumulative([0.01], [0, 0]) }).latency.bins).toEqual({});
    expect(aggregateFromHistogram({ requests: 4.4, errors: 4.6, buckets: [] })).toMatchObject({ count: 4, errors: 4 });
  });

  it('lets the judge fail a canary two buckets slower and pass one binned like production', () => {
    const production = aggregateFromHistogram({ requests: 1600, errors: 16, buckets: cumulative(BOUNDS, traffic(5, 15, 25)) });
    const same = aggregateFromHistogram({ requests: 400, errors: 4, buckets: cumulative(BOUNDS, traffic(5, 15, 25 / 4)) });
    // Two buckets of 5% is ~10.25% slower at every quantile.
    const slower = aggregateFromHistogram({ requests: 400, errors: 4, buckets: cumulative(BOUNDS, traffic(7, 15, 25 / 4)) });
    const latencyOf = (canary: typeof production) => judgeInterval(canary, production, null).metrics.find(({ metric }) => metric === 'latency')!;
    expect(latencyOf(same)).toMatchObject({ verdict: 'pass', reason: 'not_significant' });
    expect(latencyOf(slower)).toMatchObject({ verdict: 'fail', reason: 'slower' });
    expect(latencyOf(slower).effect).toBeCloseTo(1.05 ** 2, 2);
  });

  it.each<[string, HistogramBucket[], string]>([
    ['no +Inf bucket', [{ le: 0.1, count: 3 }], 'the latency buckets have no le="+Inf" bucket: sum the histogram\'s _bucket series by (le)'],
    [
      'a negative bound',
      [
        { le: -1, count: 0 },
        { le: Infinity, count: 1 },
      ],
      "a latency bucket's bound must be a number of seconds ≥ 0, not -1",
    ],
    [
      'a repeated bound',
      [
        { le: 0.1, count: 1 },
        { le: 0.1, count: 2 },
        { le: Infinity, count: 2 },
      ],
      'two latency buckets have the bound le="0.1"',
    ],
    ['a count that is not a number', [{ le: Infinity, count: NaN }], 'the le="+Inf" bucket\'s count must be a finite number ≥ 0, not NaN'],
    ['only a +Inf bucket', [{ le: Infinity, count: 5 }], 'the latency histogram has only a le="+Inf" bucket: it says how many requests, not how long they took'],
  ])('refuses buckets with %s', (_, buckets, message) => {
    expect(() => aggregateFromHistogram({ requests: 5, errors: 0, buckets })).toThrow(new RangeError(message));
  });

  it('refuses request and error counts that are not finite numbers ≥ 0', () => {
    expect(() => aggregateFromHistogram({ requests: NaN, errors: 0, buckets: [] })).toThrow('requests must be a finite number ≥ 0, not NaN');
    expect(() => aggregateFromHistogram({ requests: 1, errors: -1, buckets: [] })).toThrow('errors must be a finite number ≥ 0, not -1');
  });
});
