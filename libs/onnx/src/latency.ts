export interface LatencySummary {
  runs: number;
  warmupRuns: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Times `run` `runs` times after `warmupRuns` untimed calls, one at a time; an aborted signal stops it between calls. */
export async function measureLatency(run: () => Promise<unknown>, options: { runs: number; warmupRuns: number; signal?: AbortSignal }): Promise<LatencySummary> {
  for (let index = 0; index < options.warmupRuns; index++) {
    options.signal?.throwIfAborted();
    await run();
  }
  const samples: number[] = [];
  for (let index = 0; index < options.runs; index++) {
    options.signal?.throwIfAborted();
    const started = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return summarizeLatency(samples, options.warmupRuns);
}

/**
 * Times two models in turn, `runs` times each after `warmupRuns` untimed calls
 * each, swapping which goes first every round: a change in machine load hits
 * both alike, and neither always runs straight after the other.
 */
export async function measureLatencyPair(
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  options: { runs: number; warmupRuns: number; signal?: AbortSignal },
): Promise<[LatencySummary, LatencySummary]> {
  for (let index = 0; index < options.warmupRuns; index++) {
    options.signal?.throwIfAborted();
    await first();
    await second();
  }
  const samples: [number[], number[]] = [[], []];
  const runs = [first, second];
  for (let index = 0; index < options.runs; index++) {
    for (const which of index % 2 === 0 ? [0, 1] : [1, 0]) {
      options.signal?.throwIfAborted();
      const started = process.hrtime.bigint();
      await runs[which]();
      samples[which].push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  return [summarizeLatency(samples[0], options.warmupRuns), summarizeLatency(samples[1], options.warmupRuns)];
}

export function summarizeLatency(samples: number[], warmupRuns: number): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    runs: sorted.length,
    warmupRuns,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    maxMs: sorted[sorted.length - 1],
  };
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
