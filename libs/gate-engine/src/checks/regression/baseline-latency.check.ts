import { measureLatencyPair, type LatencySummary, type OnnxSession } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { resolveInputs, synthesizedFeeds } from '../synthesized-inputs';
import { atMost, baselineOf, compared, formatRatio, refOf } from './comparison';

type Thresholds = { maxP95Ratio: number; toleranceMs: number; runs: number; warmupRuns: number; batchSize: number };

/**
 * p95 latency of the candidate against the production version, measured in
 * the same check with the same inputs, runs and warm-up, the two models
 * taking turns (which one goes first alternates) so that a change in machine
 * load falls on both alike. Both sessions run with intra-op spinning off: two
 * sessions in one process would otherwise compete for cores, and on two
 * cores identical models then differed by up to 3× at p95.
 */
export class BaselineLatencyCheck implements GateCheck<Thresholds> {
  readonly id = 'baseline_latency';
  readonly family = 'regression';
  readonly description = 'p95 latency relative to the version in production, both timed in turn in this run';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {
    maxP95Ratio: { type: 'number', min: 0, description: "highest candidate p95 as a multiple of production's (1.1 = at most 10% slower)" },
    toleranceMs: {
      type: 'number',
      min: 0,
      description:
        "a p95 at most this many ms above production's passes whatever the ratio: on sub-millisecond models, scheduling noise alone moves the ratio by 10% (0 = the ratio only)",
    },
    runs: { type: 'integer', min: 50, max: 1_000_000, description: 'timed runs of each model (at least 50)' },
    warmupRuns: { type: 'integer', min: 0, max: 10_000, description: 'untimed runs of each model first' },
    batchSize: { type: 'integer', min: 1, max: 65_536, description: 'examples per timed run' },
  } as const;
  readonly defaults = { maxP95Ratio: 1.1, toleranceMs: 0.1, runs: 200, warmupRuns: 10, batchSize: 1 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    if (!baseline.modelPath) return { status: 'skipped', message: `production version ${refOf(baseline)} has no ONNX file to time` };
    const [production, candidate] = await timeInTurn(baseline, context, thresholds);
    const row = atMost('p95 latency (ms)', production.p95Ms, candidate.p95Ms, thresholds.maxP95Ratio, thresholds.toleranceMs);
    const comparison = `p95 ${candidate.p95Ms.toFixed(3)} ms against ${production.p95Ms.toFixed(3)} ms for production ${refOf(baseline)} (${formatRatio(row.ratio)}), ${thresholds.runs} runs each in turn (batch ${thresholds.batchSize})`;
    const message = row.verdict === 'passed' ? comparison : `${comparison}: above ${thresholds.maxP95Ratio}× production's and more than ${thresholds.toleranceMs} ms slower`;
    return compared(row, message, { batchSize: thresholds.batchSize, baseline: { model: baseline.subject.model, version: baseline.subject.version, ...production }, candidate });
  }

  recommend(): string {
    return 'The candidate is slower than the model in production: profile it (graph optimisation, quantisation, a smaller architecture), or raise baseline_latency.maxP95Ratio for this stage in config/gates.json if serving can afford it.';
  }
}

/** Times production and the candidate in turn, each on sessions of their own whose idle threads sleep rather than spin and take cores from the other model's next run. */
async function timeInTurn(baseline: GateContext, candidate: GateContext, thresholds: Thresholds): Promise<[LatencySummary, LatencySummary]> {
  const sessions: OnnxSession[] = [];
  try {
    for (const model of [baseline, candidate]) sessions.push(await model.loadSession({ allowSpinning: false }));
    const [productionFeeds, candidateFeeds] = [baseline, candidate].map((model, index) =>
      synthesizedFeeds(model, resolveInputs(model, sessions[index], thresholds.batchSize).inputs),
    );
    return await measureLatencyPair(
      () => sessions[0].run(productionFeeds),
      () => sessions[1].run(candidateFeeds),
      {
        runs: thresholds.runs,
        warmupRuns: thresholds.warmupRuns,
        signal: candidate.signal,
      },
    );
  } finally {
    await Promise.all(sessions.map((session) => session.release()));
  }
}
