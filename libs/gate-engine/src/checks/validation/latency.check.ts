import { measureLatency } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { resolveInputs, synthesizedFeeds } from '../synthesized-inputs';

const MIB = 1024 * 1024;

type Thresholds = { runs: number; warmupRuns: number; batchSize: number; maxP95Ms: number; maxMemoryMiB: number };

/**
 * Single-request latency after warm-up, on a session of its own so the
 * memory figure covers loading the model as well as running it.
 */
export class LatencyCheck implements GateCheck<Thresholds> {
  readonly id = 'latency';
  readonly family = 'validation';
  readonly description = 'p50/p95/p99 latency over repeated runs after warm-up, and the memory the model takes';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {
    runs: { type: 'integer', min: 50, max: 1_000_000, description: 'timed runs (at least 50)' },
    warmupRuns: { type: 'integer', min: 0, max: 10_000, description: 'untimed runs first' },
    batchSize: { type: 'integer', min: 1, max: 65_536, description: 'examples per timed run' },
    maxP95Ms: { type: 'number', min: 0, description: 'largest p95 latency in ms (0 = not checked)' },
    maxMemoryMiB: { type: 'number', min: 0, description: 'largest memory growth from loading and running, in MiB (0 = not checked)' },
  } as const;
  readonly defaults = { runs: 50, warmupRuns: 5, batchSize: 1, maxP95Ms: 0, maxMemoryMiB: 0 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const rssBefore = process.memoryUsage.rss();
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 10).unref();
    const session = await context.loadSession();
    try {
      const feeds = synthesizedFeeds(context, resolveInputs(context, session, thresholds.batchSize).inputs);
      const latency = await measureLatency(() => session.run(feeds), { runs: thresholds.runs, warmupRuns: thresholds.warmupRuns, signal: context.signal });
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const memoryBytes = Math.max(0, peakRss - rssBefore);
      const problems = [
        thresholds.maxP95Ms > 0 && latency.p95Ms > thresholds.maxP95Ms && `p95 ${latency.p95Ms.toFixed(2)} ms is above ${thresholds.maxP95Ms} ms`,
        thresholds.maxMemoryMiB > 0 && memoryBytes > thresholds.maxMemoryMiB * MIB && `memory ${(memoryBytes / MIB).toFixed(1)} MiB is above ${thresholds.maxMemoryMiB} MiB`,
      ].filter((problem): problem is string => Boolean(problem));
      const summary = `p50 ${latency.p50Ms.toFixed(3)} ms, p95 ${latency.p95Ms.toFixed(3)} ms, p99 ${latency.p99Ms.toFixed(3)} ms over ${latency.runs} runs (batch ${thresholds.batchSize}); memory +${(memoryBytes / MIB).toFixed(1)} MiB`;
      return {
        status: problems.length ? 'failed' : 'passed',
        value: latency.p95Ms,
        threshold: thresholds.maxP95Ms || null,
        message: problems.length ? `${problems.join('; ')} (${summary})` : summary,
        details: { ...latency, batchSize: thresholds.batchSize, memoryBytes, peakRssBytes: peakRss },
      };
    } finally {
      clearInterval(sampler);
      await session.release();
    }
  }

  recommend(): string {
    return 'Too slow or too large for its budget: try graph optimisation, quantisation or a smaller architecture, or raise latency.maxP95Ms / maxMemoryMiB if serving can afford it.';
  }
}
