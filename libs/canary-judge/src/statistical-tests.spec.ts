import { normalUpperQuantile, normalUpperTail } from './normal-distribution';
import { binomialUpperTail, mannWhitneyGreater, meanSquaredErrorAboveRatio, proportionBelowRatio, rateGreater } from './statistical-tests';

/** [value, count] buckets of a sample, each distinct value its own bucket. */
function buckets(values: number[]): [number, number][] {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]);
}

/** Mann–Whitney by the book: rank the pooled sample (ties at their mean rank), then U, the tie-corrected variance and z. */
function directMannWhitney(first: number[], second: number[]): { u: number; pairs: number; z: number } {
  const pooled = [...first.map((value) => ({ value, first: true })), ...second.map((value) => ({ value, first: false }))].sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(pooled.length);
  let tieTerm = 0;
  for (let start = 0; start < pooled.length;) {
    let end = start;
    while (end + 1 < pooled.length && pooled[end + 1].value === pooled[start].value) end++;
    const tied = end - start + 1;
    for (let k = start; k <= end; k++) ranks[k] = (start + 1 + end + 1) / 2;
    tieTerm += tied ** 3 - tied;
    start = end + 1;
  }
  const rankSum = pooled.reduce((total, item, k) => total + (item.first ? ranks[k] : 0), 0);
  const n1 = first.length;
  const n2 = second.length;
  const n = n1 + n2;
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  // U as a count of pairs, the definition: (x, y) with x > y, ties half.
  let pairs = 0;
  for (const x of first) for (const y of second) pairs += x > y ? 1 : x === y ? 0.5 : 0;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  return { u, pairs, z: (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance) };
}

describe('statistical tests', () => {
  it('has the standard normal tail and quantile', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(-1.644854)).toBeCloseTo(0.95, 6);
    // Tails stay accurate relative to their size, where an absolute error of 1e-7 would not.
    expect(normalUpperTail(6) / 9.865876450377e-10).toBeCloseTo(1, 5);
    expect(normalUpperQuantile(0.01)).toBeCloseTo(2.326348, 5);
    expect(normalUpperQuantile(0.975)).toBeCloseTo(-1.959964, 5);
  });

  it.each([
    [
      [3, 5, 5, 8, 9],
      [1, 2, 5, 5, 7, 7],
    ],
    [
      [12, 15, 15, 15, 20, 31, 31],
      [10, 11, 15, 16, 16, 18, 30, 31, 40],
    ],
    [
      [1, 1, 1, 2],
      [1, 2, 2, 2, 2],
    ],
  ])('computes U, z and p as a direct rank computation does on %j against %j', (first, second) => {
    const direct = directMannWhitney(first, second);
    const test = mannWhitneyGreater(buckets(first), buckets(second))!;
    expect(test.u).toBe(direct.u);
    expect(test.u).toBe(direct.pairs);
    expect(test.z).toBeCloseTo(direct.z, 12);
    expect(test.pValue).toBeCloseTo(normalUpperTail(direct.z), 12);
  });

  it('is one-sided: a larger first sample gives a small p-value, a smaller one a large p-value', () => {
    const low = Array.from({ length: 40 }, (_, i) => i);
    const high = low.map((value) => value + 15);
    expect(mannWhitneyGreater(buckets(high), buckets(low))!.pValue).toBeLessThan(0.001);
    expect(mannWhitneyGreater(buckets(low), buckets(high))!.pValue).toBeGreaterThan(0.999);
    expect(mannWhitneyGreater(buckets([5, 5]), buckets([5, 5, 5]))).toEqual({ u: 3, z: 0, pValue: 1 });
    expect(mannWhitneyGreater([], buckets(low))).toBeNull();
  });

  it('sums binomial tails exactly, on either side of the mean', () => {
    expect(binomialUpperTail(8, 10, 0.5)).toBeCloseTo(56 / 1024, 15);
    expect(binomialUpperTail(3, 10, 0.5)).toBeCloseTo(968 / 1024, 15);
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    // Far in the tail of a large n, where the terms underflow one by one: against the sum in logs.
    const logTerm = (j: number) =>
      Array.from({ length: j }, (_, i) => Math.log((10_000 - j + i + 1) / (i + 1))).reduce((a, b) => a + b, 0) + j * Math.log(0.01) + (10_000 - j) * Math.log(0.99);
    const direct = Array.from({ length: 200 }, (_, i) => Math.exp(logTerm(160 + i))).reduce((a, b) => a + b, 0);
    expect(binomialUpperTail(160, 10_000, 0.01) / direct).toBeCloseTo(1, 8);
    expect(binomialUpperTail(10, 100_000, 0.5)).toBe(1);
  });

  it('tests a rate higher than another one-sided, exactly given the events', () => {
    // 40/1000 against 20/1000: of 60 errors, 40 on a side that holds half the traffic.
    const test = rateGreater(40, 1000, 20, 1000);
    expect(test.z).toBeCloseTo(0.02 / Math.sqrt(0.03 * 0.97 * 0.002), 10);
    expect(test.pValue).toBeCloseTo(binomialUpperTail(40, 60, 0.5), 15);
    expect(test.pValue).toBeLessThan(0.01);
    expect(rateGreater(20, 1000, 40, 1000).pValue).toBeGreaterThan(0.99);
    expect(rateGreater(0, 100, 0, 100)).toEqual({ z: 0, pValue: 1 });
    // A canary at 5% traffic with 8 errors where 3 were expected: the z-test calls it significant at 1%, exactly it is not.
    expect(rateGreater(8, 300, 57, 5700).z).toBeGreaterThan(2.33);
    expect(rateGreater(8, 300, 57, 5700).pValue).toBeGreaterThan(0.01);
  });

  it('tells an accuracy below 0.95 × the other with confidence from one within noise of it', () => {
    expect(proportionBelowRatio(800, 1000, 950, 1000, 0.95).pValue).toBeLessThan(0.001);
    expect(proportionBelowRatio(900, 1000, 950, 1000, 0.95).pValue).toBeGreaterThan(0.05);
    // All correct on both sides stays finite: the adjusted proportions keep the standard error above 0.
    expect(Number.isFinite(proportionBelowRatio(100, 100, 100, 100, 0.95).z)).toBe(true);
  });

  it('tests a mean squared error against another divided by the ratio', () => {
    const side = (count: number, error: number) => ({ count, squaredErrorSum: count * error ** 2 * 1.5, squaredErrorSquareSum: count * error ** 4 * 3 });
    expect(meanSquaredErrorAboveRatio(side(500, 2), side(500, 1), 0.95)!.pValue).toBeLessThan(0.001);
    expect(meanSquaredErrorAboveRatio(side(500, 1), side(500, 1), 0.95)!.pValue).toBeGreaterThan(0.5);
    expect(meanSquaredErrorAboveRatio({ count: 1, squaredErrorSum: Number.MAX_VALUE, squaredErrorSquareSum: Number.MAX_VALUE }, side(10, 1), 0.95)).toBeNull();
  });
});
