import { measureSessionMemory, type SessionMemory } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { resolveInputs } from '../synthesized-inputs';
import { atMost, baselineOf, compared, formatRatio, refOf } from './comparison';

const MIB = 1024 * 1024;

type Thresholds = { maxMemoryRatio: number; probes: number; runs: number; batchSize: number };

/**
 * Peak memory of the candidate against the production version. Each is
 * measured in short-lived processes of its own (see measureSessionMemory):
 * in this process the second model measured would reuse what the first
 * freed, since a resident set rarely shrinks, and look smaller than it is.
 * Each model is probed `probes` times and its median counts, so one
 * disturbed probe decides nothing.
 */
export class BaselineMemoryCheck implements GateCheck<Thresholds> {
  readonly id = 'baseline_memory';
  readonly family = 'regression';
  readonly description = 'memory to load and run the model, relative to the version in production, each measured in fresh processes';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = {
    maxMemoryRatio: { type: 'number', min: 0, description: "highest candidate memory as a multiple of production's (1.2 = at most 20% more)" },
    probes: { type: 'integer', min: 1, max: 15, description: 'fresh processes per model; the median counts' },
    runs: { type: 'integer', min: 1, max: 1000, description: 'runs of the model in each probe after loading it' },
    batchSize: { type: 'integer', min: 1, max: 65_536, description: 'examples per run' },
  } as const;
  readonly defaults = { maxMemoryRatio: 1.2, probes: 3, runs: 5, batchSize: 1 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    if (!baseline.modelPath) return { status: 'skipped', message: `production version ${refOf(baseline)} has no ONNX file to measure` };
    const models = [baseline, context];
    const requests = await Promise.all(
      models.map(async (model) => ({
        path: model.absolutePath(model.requireModelPath()),
        inputs: resolveInputs(model, await model.session(), thresholds.batchSize).inputs,
      })),
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
    const [production, candidate] = probes.map((measured) => median(measured.map((probe) => probe.growthBytes)));
    const row = atMost('memory growth (MiB)', mebibytes(production), mebibytes(candidate), thresholds.maxMemoryRatio);
    const comparison = `+${mebibytes(candidate)} MiB to load and run against +${mebibytes(production)} MiB for production ${refOf(baseline)} (${formatRatio(row.ratio)}), median of ${thresholds.probes} fresh processes each`;
    const message = row.verdict === 'passed' ? comparison : `${comparison}: above ${thresholds.maxMemoryRatio}× production's`;
    return compared(row, message, {
      method: 'resident set growth from creating the session through its runs, in a fresh node process per probe',
      baseline: { model: baseline.subject.model, version: baseline.subject.version, growthBytes: production, probes: probes[0] },
      candidate: { growthBytes: candidate, probes: probes[1] },
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
