import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { atMost, baselineOf, compared, formatRatio, refOf } from './comparison';

type Thresholds = { maxSizeRatio: number };

/** What every serving host downloads and holds, against what it holds for production now. */
export class BaselineSizeCheck implements GateCheck<Thresholds> {
  readonly id = 'baseline_size';
  readonly family = 'regression';
  readonly description = "the total size of the version's files, relative to the version in production";
  readonly severity = 'critical';
  readonly thresholds = {
    maxSizeRatio: { type: 'number', min: 0, description: "highest total file size as a multiple of production's (1.2 = at most 20% larger)" },
  } as const;
  readonly defaults = { maxSizeRatio: 1.2 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    const [production, candidate] = [baseline, context].map((model) => model.subject.files.reduce((sum, file) => sum + file.size, 0));
    const row = atMost('total file size (bytes)', production, candidate, thresholds.maxSizeRatio);
    const comparison = `${candidate} bytes against ${production} for production ${refOf(baseline)} (${formatRatio(row.ratio)})`;
    return compared(row, row.verdict === 'passed' ? comparison : `${comparison}: above ${thresholds.maxSizeRatio}× production's`, {
      baseline: { model: baseline.subject.model, version: baseline.subject.version, totalBytes: production, files: baseline.subject.files.length },
      candidate: { totalBytes: candidate, files: context.subject.files.length },
    });
  }

  recommend(): string {
    return "The candidate's files are much larger than production's: drop files serving does not need, quantise or prune, or raise baseline_size.maxSizeRatio for this stage in config/gates.json.";
  }
}
