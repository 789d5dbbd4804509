import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

const MIB = 1024 * 1024;

type Thresholds = { maxMiB: number };

/** What a serving host has to download and hold; generative models are allowed more by default. */
export class SizeLimitCheck implements GateCheck<Thresholds> {
  readonly id = 'size_limit';
  readonly family = 'validation';
  readonly description = "the version's files together are within the size limit for its task";
  readonly severity = 'critical';
  readonly thresholds = { maxMiB: { type: 'number', min: 0, description: "largest total size of the version's files, in MiB" } } as const;
  readonly defaults = { maxMiB: 100 };
  readonly taskDefaults = { generative: { maxMiB: 150 } };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const total = context.subject.files.reduce((sum, file) => sum + file.size, 0);
    const limit = thresholds.maxMiB * MIB;
    const largest = [...context.subject.files].sort((a, b) => b.size - a.size)[0];
    const details = { totalBytes: total, limitBytes: limit, largestFile: largest ? { path: largest.path, size: largest.size } : null };
    const size = `${(total / MIB).toFixed(2)} MiB`;
    if (total > limit)
      return { status: 'failed', value: total, threshold: limit, message: `${size} is over the ${thresholds.maxMiB} MiB limit for ${context.task} models`, details };
    return { status: 'passed', value: total, threshold: limit, message: `${size} of ${thresholds.maxMiB} MiB`, details };
  }

  recommend(): string {
    return 'Quantise or prune the model, drop files serving does not need (optimizer state, checkpoints), or raise size_limit.maxMiB for this task in config/gates.json if the host can take it.';
  }
}
