import { SeededRandom, percentile } from '@gatehouse/onnx';
import { atMostWithin, compared } from './comparison';
import { pairedMedianRatioInterval, pairedPercentileRatioInterval, percentileInPlace, verdictAgainst } from './ratio-interval';

const OPTIONS = { percentile: 95, resamples: 2000, confidence: 0.95, seed: 2026 };

/** Latency-like samples: a floor, Gaussian jitter, and in `stalls` of the runs a long stall, `scale` times as long throughout. */
function latencies(random: SeededRandom, rounds: number, scale = 1, stalls = 0.01): number[] {
  return Array.from({ length: rounds }, () => scale * (1 + 0.05 * Math.abs(random.normal()) + (random.next() < stalls ? 0.5 + random.next() : 0)));
}

describe('percentileInPlace', () => {
  it('reads the same nearest-rank percentile as percentile() does from sorted samples, ties included', () => {
    const random = new SeededRandom(5);
    for (const size of [1, 2, 7, 20, 201]) {
      const values = Array.from({ length: size }, () => Math.round(random.next() * 10));
      const sorted = [...values].sort((a, b) => a - b);
      for (const p of [0, 1, 50, 95, 99, 100]) expect(percentileInPlace(Float64Array.from(values), p)).toBe(percentile(sorted, p));
    }
    expect(percentileInPlace(new Float64Array(0), 95)).toBeNaN();
  });
});

describe('pairedPercentileRatioInterval', () => {
  it('is the same for the same seed, and the ratio is that of the samples as measured', () => {
    const random = new SeededRandom(1);
    const [baseline, candidate] = [latencies(random, 200), latencies(random, 200)];
    const interval = pairedPercentileRatioInterval(baseline, candidate, OPTIONS);
    expect(pairedPercentileRatioInterval(baseline, candidate, OPTIONS)).toEqual(interval);
    expect(interval.ratio).toBe(
      percentile(
        [...candidate].sort((a, b) => a - b),
        95,
      ) /
        percentile(
          [...baseline].sort((a, b) => a - b),
          95,
        ),
    );
    expect(interval.low).toBeLessThanOrEqual(interval.ratio);
    expect(interval.high).toBeGreaterThanOrEqual(interval.ratio);
    expect(interval.confidence).toBe(0.95);
  });

  it('never refuses identical distributions at 1.1×, and mostly holds 1, even where p95 falls among stalls', () => {
    const random = new SeededRandom(2);
    const verdicts = { passed: 0, warning: 0, failed: 0 };
    let holdingOne = 0;
    for (let trial = 0; trial < 40; trial++) {
      const interval = pairedPercentileRatioInterval(latencies(random, 200, 1, 0.08), latencies(random, 200, 1, 0.08), { ...OPTIONS, resamples: 1000, seed: trial });
      verdicts[verdictAgainst(interval, 1.1)]++;
      if (interval.low <= 1 && interval.high >= 1) holdingOne++;
    }
    expect(verdicts.failed).toBe(0);
    expect(verdicts.passed + verdicts.warning).toBe(40);
    // A 95% interval; 40 trials of it hold 1 about 38 times.
    expect(holdingOne).toBeGreaterThanOrEqual(34);
  });

  it('refuses a distribution 1.5× slower, and holds the true ratio of 1.3 in most trials', () => {
    const random = new SeededRandom(3);
    for (let trial = 0; trial < 10; trial++) {
      expect(verdictAgainst(pairedPercentileRatioInterval(latencies(random, 200), latencies(random, 200, 1.5), { ...OPTIONS, resamples: 1000, seed: trial }), 1.1)).toBe('failed');
    }
    let holding = 0;
    for (let trial = 0; trial < 40; trial++) {
      const interval = pairedPercentileRatioInterval(latencies(random, 200), latencies(random, 200, 1.3), { ...OPTIONS, resamples: 1000, seed: trial });
      if (interval.low <= 1.3 && interval.high >= 1.3) holding++;
    }
    expect(holding).toBeGreaterThanOrEqual(34);
  });

  it("keeps each round's pair together, so load both models shared narrows the interval rather than widening it", () => {
    const random = new SeededRandom(4);
    // Each round ran under a load that slowed both of its runs alike, up to 3×.
    const load = Array.from({ length: 200 }, () => 1 + 2 * random.next());
    const baseline = load.map((factor) => factor * (1 + 0.01 * random.normal()));
    const candidate = load.map((factor) => 1.2 * factor * (1 + 0.01 * random.normal()));
    const paired = pairedPercentileRatioInterval(baseline, candidate, OPTIONS);
    expect(paired.low).toBeGreaterThan(1.1);
    expect(paired.high).toBeLessThan(1.3);
    // The same samples with the rounds' pairing broken: each model's load now looks like its own scatter.
    const shuffled = [...candidate].reverse();
    const unpaired = pairedPercentileRatioInterval(baseline, shuffled, OPTIONS);
    expect(unpaired.high - unpaired.low).toBeGreaterThan(paired.high - paired.low);
  });

  it('refuses samples whose rounds do not pair up', () => {
    expect(() => pairedPercentileRatioInterval([1, 2], [1], OPTIONS)).toThrow(RangeError);
    expect(() => pairedPercentileRatioInterval([], [], OPTIONS)).toThrow(RangeError);
  });
});

describe('pairedMedianRatioInterval', () => {
  it("spans 5 rounds' ratios from smallest to largest, which holds the median with 93.75%", () => {
    const interval = pairedMedianRatioInterval([100, 100, 100, 100, 100], [101, 99, 130, 104, 95], 0.9);
    expect(interval).toEqual({ ratio: 1.01, low: 0.95, high: 1.3, confidence: 0.9375 });
  });

  it('narrows to inner order statistics when there are enough rounds, and says what it covers', () => {
    const ratios = Array.from({ length: 15 }, (_, index) => 1 + index / 100);
    const interval = pairedMedianRatioInterval(
      ratios.map(() => 1),
      [...ratios].reverse(),
      0.9,
    );
    // k = 4: 1 - 2·P(Binomial(15, ½) ≤ 3) = 1 - 2·576/32768; k = 5 would cover only 0.88.
    expect(interval).toEqual({ ratio: 1.07, low: 1.03, high: 1.11, confidence: 1 - (2 * 576) / 32768 });
  });

  it('gives a zero baseline an infinite ratio unless the candidate is zero too', () => {
    expect(pairedMedianRatioInterval([0, 0, 0], [0, 0, 5], 0.5)).toMatchObject({ ratio: 1, high: Infinity });
  });
});

describe('verdictAgainst and atMostWithin', () => {
  it('fails only an interval wholly above the limit, passes one at or below it, and warns on one that straddles it', () => {
    expect(verdictAgainst({ low: 1.11, high: 1.4 }, 1.1)).toBe('failed');
    expect(verdictAgainst({ low: 1.1, high: 1.4 }, 1.1)).toBe('warning');
    expect(verdictAgainst({ low: 0.9, high: 1.1 }, 1.1)).toBe('passed');
  });

  it('puts the interval in the row and warns without failing the check', () => {
    const row = atMostWithin('p95 latency (ms)', 2, 2.2, { ratio: 1.1, low: 1.02, high: 1.19, confidence: 0.95 }, 1.1, 0.1);
    expect(row).toEqual({ metric: 'p95 latency (ms)', baseline: 2, candidate: 2.2, ratio: 1.1, threshold: 1.1, bound: 'max', interval: [1.02, 1.19], verdict: 'warning' });
    expect(compared(row, 'too close to call')).toMatchObject({ status: 'warning', value: 1.1, threshold: 1.1 });
  });

  it('passes a candidate at most the tolerance slower whatever the interval, and not one slower than that', () => {
    const clearlySlower = { ratio: 3, low: 2.5, high: 3.5, confidence: 0.95 };
    expect(atMostWithin('p95 latency (ms)', 0.02, 0.06, clearlySlower, 1.1, 0.1).verdict).toBe('passed');
    expect(atMostWithin('p95 latency (ms)', 0.02, 0.06, clearlySlower, 1.1, 0).verdict).toBe('failed');
    expect(atMostWithin('p95 latency (ms)', 1, 3, clearlySlower, 1.1, 0.1).verdict).toBe('failed');
    expect(atMostWithin('memory growth (MiB)', 10, 10, clearlySlower, 1.2).verdict).toBe('failed');
  });
});
