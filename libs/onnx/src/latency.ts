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

/** One model's timed runs in the order they ran: wall-clock time, and the CPU time this process spent meanwhile (all its threads). */
export interface RunTimes {
  wallMs: number[];
  cpuMs: number[];
}

/** Two models timed in turn: index i of each was taken in the same round, one right after the other. */
export interface PairedLatency {
  first: RunTimes;
  second: RunTimes;
}

/**
 * Times two models in turn, `runs` times each after `warmupRuns` untimed calls
 * each, swapping which goes first every round: a change in machine load hits
 * both alike, and neither always runs straight after the other. The times
 * come back in round order, so that a comparison can keep each round's pair
 * together. CPU time counts what the process computed, not how long it
 * waited for a core: on a host whose cores are taken by other work, it is
 * what one run costs where the wall clock is mostly the wait.
 */
export async function measureLatencyPair(
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  options: { runs: number; warmupRuns: number; signal?: AbortSignal },
): Promise<PairedLatency> {
  for (let index = 0; index < options.warmupRuns; index++) {
    options.signal?.throwIfAborted();
    await first();
    await second();
  }
  const times: [RunTimes, RunTimes] = [
    { wallMs: [], cpuMs: [] },
    { wallMs: [], cpuMs: [] },
  ];
  const runs = [first, second];
  for (let index = 0; index < options.runs; index++) {
    for (const which of index % 2 === 0 ? [0, 1] : [1, 0]) {
      options.signal?.throwIfAborted();
      const cpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      await runs[which]();
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const cpu = process.cpuUsage(cpuBefore);
      times[which].wallMs.push(wallMs);
      times[which].cpuMs.push((cpu.user + cpu.system) / 1000);
    }
  }
  return { first: times[0], second: times[1] };
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
