import { MAX_RETRY_DELAY_MS, retryDelayMs } from './delivery-backoff';

describe('retryDelayMs', () => {
  it('doubles with each failed attempt, between half and all of base × 2^(attempt-1)', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1000, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1000, () => 0.999999))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(3, 1000, () => 0.5)).toBe(3000);
  });

  it('spreads deliveries that failed together', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(5, 1000, random)));
    expect(delays.size).toBeGreaterThan(40);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(8000);
      expect(delay).toBeLessThanOrEqual(16000);
    }
  });

  it('never waits longer than its cap, however many attempts failed', () => {
    expect(retryDelayMs(40, 30_000, () => 0.999999)).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(40, 30_000, () => 0.999999)).toBeGreaterThan(MAX_RETRY_DELAY_MS * 0.999);
    expect(retryDelayMs(40, 30_000, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
  });
});
