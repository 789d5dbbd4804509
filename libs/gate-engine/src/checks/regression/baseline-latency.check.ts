import { OnnxSession, measureLatencyPair, summarizeLatency, type LatencySummary, type PairedLatency } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { modelFeeds } from '../model-inputs';
import { atMostWithin, baselineOf, compared, formatInterval, formatRatio, refOf } from './comparison';
import { pairedPercentileRatioInterval } from './ratio-interval';

type Thresholds = {
  maxP95Ratio: number;
  toleranceMs: number;
  runs: number;
  maxRuns: number;
  warmupRuns: number;
  batchSize: number;
  resamples: number;
  confidence: number;
  cpuTime: boolean;
};

/**
 * p95 latency of the candidate against the production version, measured in
 * the same check with the same inputs, runs and warm-up, the two models
 * taking turns (which one goes first alternates) so that a change in machine
 * load falls on both alike. Both sessions run with intra-op spinning off: two
 * sessions in one process would otherwise compete for cores, and on two
 * cores identical models then differed by up to 3× at p95.
 *
 * One p95 ratio is a single draw from a noisy distribution: identical bytes
 * measured 0.72× to 2.2× each other on a host with one busy core. So the
 * verdict rests on a bootstrap interval of the ratio (see
 * pairedPercentileRatioInterval): it fails only when the whole interval lies
 * above maxP95Ratio, passes when it lies at or below, and warns (which does
 * not block) when it straddles the limit. A straddling interval first gets
 * more rounds, as many again as were timed, until it no longer straddles or
 * maxRuns is reached: clear cases cost `runs`, and close ones get the rounds
 * that can decide them. Each look is a 95% interval, so looking up to three
 * times raises the chance of refusing a candidate exactly at the limit from
 * 2.5% to at most 7.5%; for one at the production model's speed, which is
 * what the noise used to refuse, it stays far below 1%.
 *
 * By default each run is timed by the CPU time the process spent on it, with
 * one intra-op thread per model, rather than by the wall clock: on a shared
 * host the wall clock mostly measures the wait for a core (with the machine
 * loaded, runs spent three quarters of their wall time waiting), and that
 * wait dilutes a real difference, since it is added to both models alike:
 * a model doing 1.2× the work measured 1.10× at p95 by the wall clock, 1.16×
 * by CPU time. One thread because a run spread over several needs all their
 * cores at once and waits for the slowest; one thread needs one. What this
 * cannot see is a change in how well a model spreads over threads:
 * `cpuTime: false` times by the wall clock with the run's intraOpThreads,
 * for hosts that keep their cores free for the gate.
 */
export class BaselineLatencyCheck implements GateCheck<Thresholds> {
  readonly id = 'baseline_latency';
  readonly family = 'regression';
  readonly description = 'p95 latency relative to the version in production, both timed in turn in this run';
  readonly severity = 'critical';
  // Inputs the smoke run could not run the candidate on would only fail here again.
  readonly requires = ['model_loads', 'smoke_run'];
  readonly thresholds = {
    maxP95Ratio: {
      type: 'number',
      min: 0,
      description: "highest candidate p95 as a multiple of production's (1.1 = at most 10% slower), refused only when the whole interval is above it",
    },
    toleranceMs: {
      type: 'number',
      min: 0,
      description:
        "a p95 at most this many ms above production's passes whatever the ratio: on sub-millisecond models, scheduling noise alone moves the ratio by 10% (0 = the ratio only)",
    },
    runs: { type: 'integer', min: 50, max: 1_000_000, description: 'timed runs of each model (at least 50)' },
    maxRuns: {
      type: 'integer',
      min: 50,
      max: 1_000_000,
      description: 'while the interval straddles maxP95Ratio, as many runs again as were timed, up to this many of each model (at most runs: no more)',
    },
    warmupRuns: { type: 'integer', min: 0, max: 10_000, description: 'untimed runs of each model first' },
    batchSize: { type: 'integer', min: 1, max: 65_536, description: 'examples per timed run' },
    resamples: { type: 'integer', min: 200, max: 100_000, description: 'bootstrap resamples of the timed rounds for the interval of the p95 ratio' },
    confidence: { type: 'number', min: 0.5, max: 0.999, description: 'two-sided confidence of that interval (0.95 = 95%)' },
    cpuTime: {
      type: 'boolean',
      description: "time runs by the process's CPU time, one intra-op thread per model (true), or by the wall clock with the run's intraOpThreads (false)",
    },
  } as const;
  readonly defaults = { maxP95Ratio: 1.1, toleranceMs: 0.1, runs: 200, maxRuns: 800, warmupRuns: 10, batchSize: 1, resamples: 2000, confidence: 0.95, cpuTime: true };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    if (!baseline.modelPath) return { status: 'skipped', message: `production version ${refOf(baseline)} has no ONNX file to time` };
    const metric = thresholds.cpuTime ? 'p95 latency, CPU time (ms)' : 'p95 latency (ms)';
    const judge = (measured: PairedLatency) => {
      const clock = thresholds.cpuTime ? 'cpuMs' : 'wallMs';
      const [productionMs, candidateMs] = [measured.first[clock], measured.second[clock]];
      const [production, candidate] = [productionMs, candidateMs].map((samples) => summarizeLatency(samples, thresholds.warmupRuns));
      const interval = pairedPercentileRatioInterval(productionMs, candidateMs, {
        percentile: 95,
        resamples: thresholds.resamples,
        confidence: thresholds.confidence,
        seed: context.settings.seed,
      });
      const row = {
        ...atMostWithin(metric, production.p95Ms, candidate.p95Ms, interval, thresholds.maxP95Ratio, thresholds.toleranceMs),
        speedUp: production.p95Ms / candidate.p95Ms,
      };
      return { measured, production, candidate, interval, row };
    };
    const { judged, inputs } = await timeInTurn(baseline, context, thresholds, judge);
    const { measured, production, candidate, interval, row } = judged;
    const how = thresholds.cpuTime ? 'CPU time of' : 'wall clock over';
    const comparison = `p95 ${candidate.p95Ms.toFixed(3)} ms against ${production.p95Ms.toFixed(3)} ms for production ${refOf(baseline)} (${formatRatio(interval.ratio)}, ${formatInterval(interval)}), ${how} ${candidate.runs} runs each in turn (batch ${thresholds.batchSize})`;
    const message = {
      passed: interval.high <= thresholds.maxP95Ratio ? comparison : `${comparison}: within ${thresholds.toleranceMs} ms of production's p95, which passes whatever the ratio`,
      failed: `${comparison}: the whole interval is above ${thresholds.maxP95Ratio}× production's, and the candidate is more than ${thresholds.toleranceMs} ms slower`,
      warning: `${comparison}: the interval straddles ${thresholds.maxP95Ratio}×, too close to call (a higher maxRuns narrows it); not refused`,
    }[row.verdict];
    const figures = (summary: LatencySummary) => ({ ...summary, examplesPerSecond: (thresholds.batchSize * 1000) / summary.meanMs });
    return compared(row, message, {
      clock: thresholds.cpuTime ? 'CPU time of the gate process per run, one intra-op thread per model' : 'wall clock per run',
      batchSize: thresholds.batchSize,
      interval: { low: interval.low, high: interval.high, confidence: interval.confidence, resamples: thresholds.resamples },
      speedUp: row.speedUp,
      ...(thresholds.cpuTime && { waitedForCore: waitedShare(measured) }),
      baseline: { model: baseline.subject.model, version: baseline.subject.version, inputs: inputs.production, ...figures(production) },
      candidate: { inputs: inputs.candidate, ...figures(candidate) },
    });
  }

  recommend(): string {
    return 'The candidate is slower than the model in production: profile it (graph optimisation, quantisation, a smaller architecture), or raise baseline_latency.maxP95Ratio for this stage in config/gates.json if serving can afford it.';
  }
}

/**
 * Times production and the candidate in turn, each on sessions of their own
 * whose idle threads sleep rather than spin and take cores from the other
 * model's next run; then, while `judge` finds the interval straddling, as
 * many rounds again as were timed, up to maxRuns.
 */
async function timeInTurn<Judged extends { row: { verdict: string } }>(
  baseline: GateContext,
  candidate: GateContext,
  thresholds: Thresholds,
  judge: (measured: PairedLatency) => Judged,
): Promise<{ judged: Judged; inputs: { production: string; candidate: string } }> {
  const sessions: OnnxSession[] = [];
  try {
    for (const model of [baseline, candidate]) {
      sessions.push(
        thresholds.cpuTime
          ? await OnnxSession.load(model.absolutePath(model.requireModelPath()), { allowSpinning: false, intraOpThreads: 1 })
          : await model.loadSession({ allowSpinning: false }),
      );
    }
    // The same inputs for both where the candidate has examples: the production context reads the candidate's datasets.
    const [production, fed] = await Promise.all([baseline, candidate].map((model, index) => modelFeeds(model, sessions[index], { batchSize: thresholds.batchSize })));
    const [productionFeeds, candidateFeeds] = [production.feeds[0], fed.feeds[0]];
    const inputs = { production: production.description, candidate: fed.description };
    const measured: PairedLatency = { first: { wallMs: [], cpuMs: [] }, second: { wallMs: [], cpuMs: [] } };
    for (let runs = thresholds.runs, warmupRuns = thresholds.warmupRuns; ; warmupRuns = 0) {
      const more = await measureLatencyPair(
        () => sessions[0].run(productionFeeds),
        () => sessions[1].run(candidateFeeds),
        { runs, warmupRuns, signal: candidate.signal },
      );
      for (const which of ['first', 'second'] as const) {
        measured[which].wallMs.push(...more[which].wallMs);
        measured[which].cpuMs.push(...more[which].cpuMs);
      }
      const judged = judge(measured);
      const timed = measured.first.wallMs.length;
      runs = Math.min(timed, thresholds.maxRuns - timed);
      if (judged.row.verdict !== 'warning' || runs <= 0) return { judged, inputs };
    }
  } finally {
    await Promise.all(sessions.map((session) => session.release()));
  }
}

/** The share of the timed runs' wall time not spent computing: how busy the host was, which the CPU clock leaves out. */
function waitedShare(measured: PairedLatency): number {
  const total = (values: number[]) => values.reduce((sum, value) => sum + value, 0);
  const wall = total(measured.first.wallMs) + total(measured.second.wallMs);
  const cpu = total(measured.first.cpuMs) + total(measured.second.cpuMs);
  return wall > 0 ? Math.max(0, 1 - cpu / wall) : 0;
}
