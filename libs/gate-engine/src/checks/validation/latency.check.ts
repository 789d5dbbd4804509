import { measureLatency, type LatencySummary, type OnnxSession } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { batchDimension, batchFeeds } from '../batch-inputs';

const MIB = 1024 * 1024;

type Thresholds = { runs: number; warmupRuns: number; batchSize: number; maxP95Ms: number; maxMemoryMiB: number };

/** Latency at one batch size, and the examples per second it comes to. */
export interface LatencyBenchmark extends LatencySummary {
  batchSize: number;
  /** What the runs were fed: input examples, or synthesised inputs and their sizes. */
  inputs: string;
  throughputPerSecond: number;
}

/**
 * Single-request latency after warm-up, on a session of its own so the
 * memory figure covers loading the model as well as running it; the
 * verdict is on that. Then, where the batch dimension allows, the same at
 * the policy's batch size (`settings.batchSize`), for the throughput a
 * batching server would get. A model with a fixed batch is timed at its own.
 */
export class LatencyCheck implements GateCheck<Thresholds> {
  readonly id = 'latency';
  readonly family = 'validation';
  readonly description = 'p50/p95/p99 latency and throughput over repeated runs after warm-up, at batch 1 and the policy batch size, and the memory the model takes';
  readonly severity = 'critical';
  // Inputs the smoke run could not run the model on would only fail here again.
  readonly requires = ['model_loads', 'smoke_run'];
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
      const dimension = batchDimension(context, session);
      const batchOf = (requested: number) => (dimension.variable ? requested : dimension.size);
      const latency = await benchmark(context, session, batchOf(thresholds.batchSize), thresholds);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      clearInterval(sampler);
      const memoryBytes = Math.max(0, peakRss - rssBefore);
      // Measured after the memory figure, so a large batch does not change what maxMemoryMiB judges.
      const benchmarks = [latency];
      if (batchOf(context.settings.batchSize) !== latency.batchSize) benchmarks.push(await benchmark(context, session, context.settings.batchSize, thresholds));
      const problems = [
        thresholds.maxP95Ms > 0 && latency.p95Ms > thresholds.maxP95Ms && `p95 ${latency.p95Ms.toFixed(2)} ms is above ${thresholds.maxP95Ms} ms`,
        thresholds.maxMemoryMiB > 0 && memoryBytes > thresholds.maxMemoryMiB * MIB && `memory ${(memoryBytes / MIB).toFixed(1)} MiB is above ${thresholds.maxMemoryMiB} MiB`,
      ].filter((problem): problem is string => Boolean(problem));
      const summary = [
        ...benchmarks.map(
          (run) =>
            `batch ${run.batchSize}: p50 ${run.p50Ms.toFixed(3)} ms, p95 ${run.p95Ms.toFixed(3)} ms, p99 ${run.p99Ms.toFixed(3)} ms, ${run.throughputPerSecond.toFixed(1)} examples/s`,
        ),
        `over ${latency.runs} runs each${dimension.variable ? '' : ` (${dimension.reason})`}; memory +${(memoryBytes / MIB).toFixed(1)} MiB`,
      ].join('; ');
      return {
        status: problems.length ? 'failed' : 'passed',
        value: latency.p95Ms,
        threshold: thresholds.maxP95Ms || null,
        message: problems.length ? `${problems.join('; ')} (${summary})` : summary,
        details: { ...latency, memoryBytes, peakRssBytes: peakRss, benchmarks },
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

async function benchmark(context: GateContext, session: OnnxSession, batchSize: number, thresholds: Thresholds): Promise<LatencyBenchmark> {
  const { feeds, description } = await batchFeeds(context, session, batchSize);
  const latency = await measureLatency(() => session.run(feeds), { runs: thresholds.runs, warmupRuns: thresholds.warmupRuns, signal: context.signal });
  return { ...latency, batchSize, throughputPerSecond: (batchSize * 1000) / latency.meanMs, inputs: description };
}
