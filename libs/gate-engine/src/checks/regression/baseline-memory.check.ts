import { measureSessionMemory, type SessionMemory } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { modelFeeds, probeInputsOf } from '../model-inputs';
import { atMostWithin, baselineOf, compared, formatInterval, formatRatio, refOf } from './comparison';
import { pairedMedianRatioInterval } from './ratio-interval';

const MIB = 1024 * 1024;

type Thresholds = { maxMemoryRatio: number; probes: number; runs: number; batchSize: number; confidence: number };

/**
 * Peak memory of the candidate against the production version. Each is
 * measured in short-lived processes of its own (see measureSessionMemory):
 * in this process the second model measured would reuse what the first
 * freed, since a resident set rarely shrinks, and look smaller than it is.
 * Each round probes both models side by side, `probes` rounds.
 *
 * The verdict rests on an interval of the ratio, not on one figure: it fails
 * only when the whole interval lies above maxMemoryRatio, passes when it
 * lies at or below, and warns (which does not block) when it straddles.
 * The ratio is the median of the rounds' ratios (a round's two probes ran
 * at the same time, so what the round shared, page cache or memory
 * pressure, cancels in its ratio), and its interval the distribution-free
 * one for a median, from order statistics (see pairedMedianRatioInterval).
 * Probes are few, each a node process started afresh, and a percentile
 * bootstrap of the median of so few says little: the median of 5 values
 * drawn from 5 is always one of them, and its 2.5th and 97.5th percentiles
 * are the smallest and largest ratio. The order statistics give that same
 * envelope with the coverage it really has (93.75% for 5 rounds), whatever
 * the ratios' distribution, and narrow as rounds are added.
 */
export class BaselineMemoryCheck implements GateCheck<Thresholds> {
  readonly id = 'baseline_memory';
  readonly family = 'regression';
  readonly description = 'memory to load and run the model, relative to the version in production, each measured in fresh processes';
  readonly severity = 'critical';
  // Inputs the smoke run could not run the candidate on would only fail here again.
  readonly requires = ['model_loads', 'smoke_run'];
  readonly thresholds = {
    maxMemoryRatio: { type: 'number', min: 0, description: "highest candidate memory as a multiple of production's (1.2 = at most 20% more)" },
    probes: { type: 'integer', min: 3, max: 15, description: 'rounds of fresh processes, one per model each; the median of their ratios counts' },
    runs: { type: 'integer', min: 1, max: 1000, description: 'runs of the model in each probe after loading it' },
    batchSize: { type: 'integer', min: 1, max: 65_536, description: 'examples per run' },
    confidence: {
      type: 'number',
      min: 0.5,
      max: 0.999,
      description: "the interval's least confidence, which few rounds may not reach: then it spans all of them and says what it reaches (5 rounds: 93.75%)",
    },
  } as const;
  readonly defaults = { maxMemoryRatio: 1.2, probes: 5, runs: 5, batchSize: 1, confidence: 0.9 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    if (!baseline.modelPath) return { status: 'skipped', message: `production version ${refOf(baseline)} has no ONNX file to measure` };
    const models = [baseline, context];
    const requests = await Promise.all(
      models.map(async (model) => {
        const fed = await modelFeeds(model, await model.session(), { batchSize: thresholds.batchSize });
        return { path: model.absolutePath(model.requireModelPath()), inputs: probeInputsOf(fed.feeds[0]), description: fed.description };
      }),
    );
    // Each round probes both at once: a resident set is per process, so running side by side changes no figure, and halves the wait.
    const probes: SessionMemory[][] = [[], []];
    for (let round = 0; round < thresholds.probes; round++) {
      // One probe failing stops its sibling rather than leaving it to run on unobserved.
      const failed = new AbortController();
      const signal = AbortSignal.any([context.signal, failed.signal]);
      const measured = await Promise.all(
        requests.map(({ path, inputs }) =>
          measureSessionMemory(path, { inputs, runs: thresholds.runs, intraOpThreads: context.settings.intraOpThreads || undefined, signal }).catch((error: Error) => {
            failed.abort(error);
            throw error;
          }),
        ),
      );
      measured.forEach((probe, which) => probes[which].push(probe));
    }
    const [productionGrowth, candidateGrowth] = probes.map((measured) => measured.map((probe) => probe.growthBytes));
    const [production, candidate] = [productionGrowth, candidateGrowth].map(median);
    const interval = pairedMedianRatioInterval(productionGrowth, candidateGrowth, thresholds.confidence);
    const row = atMostWithin('memory growth (MiB)', mebibytes(production), mebibytes(candidate), interval, thresholds.maxMemoryRatio);
    const comparison = `+${mebibytes(candidate)} MiB to load and run against +${mebibytes(production)} MiB for production ${refOf(baseline)} (${formatRatio(interval.ratio)}, ${formatInterval(interval)}), median of ${thresholds.probes} rounds of fresh processes`;
    const message = {
      passed: comparison,
      failed: `${comparison}: the whole interval is above ${thresholds.maxMemoryRatio}× production's`,
      warning: `${comparison}: the interval straddles ${thresholds.maxMemoryRatio}×, too close to call on these rounds (more probes narrow it); not refused`,
    }[row.verdict];
    return compared(row, message, {
      method: "resident set growth from creating the session through its runs, in a fresh node process per probe; the ratio is the median of the rounds' ratios",
      interval: { low: interval.low, high: interval.high, confidence: interval.confidence },
      baseline: { model: baseline.subject.model, version: baseline.subject.version, inputs: requests[0].description, growthBytes: production, probes: probes[0] },
      candidate: { inputs: requests[1].description, growthBytes: candidate, probes: probes[1] },
    });
  }

  recommend(): string {
    return 'The candidate needs more memory than the model in production: quantise or prune it, or raise baseline_memory.maxMemoryRatio for this stage in config/gates.json if the serving hosts have room.';
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** MiB to two decimals: the table shows these, and the ratio is computed from the same numbers. */
function mebibytes(bytes: number): number {
  return Math.round((bytes / MIB) * 100) / 100;
}
