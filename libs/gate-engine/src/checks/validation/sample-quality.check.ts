import { SeededRandom, synthesizeTensor, tensorValues, type OnnxSession } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';
import { batchDimension } from '../batch-inputs';
import { resolveInputs } from '../synthesized-inputs';

type Thresholds = { samples: number; batchSize: number; maxAbsMean: number; minStd: number; maxStd: number; minSampleQuality: number };

type Failure = 'non-finite' | 'mean' | 'collapsed' | 'exploding';

/** One sample that failed, with its statistics. */
interface FailedSample {
  sample: number;
  output: string;
  failure: Failure;
  mean: number;
  std: number;
}

/** Failed samples listed in the details. */
const LISTED_FAILURES = 10;

const FAILURE_REASONS: Record<Failure, (thresholds: Thresholds) => string> = {
  'non-finite': () => 'NaN or Inf',
  mean: (thresholds) => `|mean| at least ${thresholds.maxAbsMean}`,
  collapsed: (thresholds) => `standard deviation at most ${thresholds.minStd} (collapsed)`,
  exploding: (thresholds) => `standard deviation at least ${thresholds.maxStd} (exploding)`,
};

/**
 * A generative model draws samples from noise; a healthy one gives samples
 * that are finite, centred and spread (not collapsed to a constant, not
 * exploding). Draws `samples` of them from seeded noise, `batchSize` at a
 * time, judges each sample alone, and passes when enough of them are sound:
 * one bad draw in a hundred is a sampler's tail, half of them a broken model.
 * The noise is its own (fresh for each batch, from `settings.seed`), not
 * the model's example inputs: what a sampler is fed is noise.
 */
export class SampleQualityCheck implements GateCheck<Thresholds> {
  readonly id = 'sample_quality';
  readonly family = 'validation';
  readonly description = 'generative: samples drawn from seeded noise are finite, with |mean| and standard deviation in range, enough of them';
  readonly severity = 'critical';
  readonly tasks = ['generative'] as const;
  readonly requires = ['model_loads'];
  readonly thresholds = {
    samples: { type: 'integer', min: 1, max: 65_536, description: 'samples to draw' },
    batchSize: { type: 'integer', min: 1, max: 65_536, description: 'samples per run, where the batch dimension is symbolic' },
    maxAbsMean: { type: 'number', min: 0, description: "largest |mean| of a sample's values" },
    minStd: { type: 'number', min: 0, description: "a sample's standard deviation must be above it" },
    maxStd: { type: 'number', min: 0, description: "a sample's standard deviation must be below it" },
    minSampleQuality: { type: 'number', min: 0, max: 1, description: 'smallest share of samples that pass' },
  } as const;
  readonly defaults = { samples: 16, batchSize: 4, maxAbsMean: 3, minStd: 0.1, maxStd: 3, minSampleQuality: 0.9 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const session = await context.session();
    const sampled = session.outputs.filter((output) => output.dtype.startsWith('float') || output.dtype === 'bfloat16').map((output) => output.name);
    if (sampled.length === 0) return { status: 'skipped', message: 'the model has no floating-point output to judge as samples' };
    const dimension = batchDimension(context, session);
    const random = new SeededRandom(context.settings.seed);
    const tally = new SampleTally(thresholds);
    let batches = 0;
    while (tally.drawn < thresholds.samples) {
      context.signal.throwIfAborted();
      const size = dimension.variable ? Math.min(thresholds.batchSize, thresholds.samples - tally.drawn) : dimension.size;
      const outputs = await draw(context, session, size, random);
      const rows = sampled.map((name) => {
        const leading = outputs[name].dims[0];
        if (leading !== size) throw new Error(`output "${name}" has leading dimension ${leading} at batch ${size}: it does not hold one sample per row`);
        return { name, values: tensorValues(outputs[name]) };
      });
      batches++;
      // A model fixed at a batch larger than what is left draws more than it needs: the surplus is not judged.
      tally.judgeBatch(rows, size, Math.min(size, thresholds.samples - tally.drawn));
    }
    const share = tally.valid / tally.drawn;
    const reasons = (Object.entries(tally.failures) as [Failure, number][])
      .filter(([, count]) => count > 0)
      .map(([failure, count]) => `${count} ${FAILURE_REASONS[failure](thresholds)}`);
    return {
      status: share >= thresholds.minSampleQuality ? 'passed' : 'failed',
      value: share,
      threshold: thresholds.minSampleQuality,
      message: `${tally.valid} of ${tally.drawn} samples sound (${share.toFixed(3)}, at least ${thresholds.minSampleQuality} needed)${reasons.length > 0 ? `; ${reasons.join(', ')}` : ''}`,
      details: {
        samples: tally.drawn,
        valid: tally.valid,
        batches,
        batchSize: dimension.variable ? Math.min(thresholds.batchSize, thresholds.samples) : dimension.size,
        failures: tally.failures,
        failed: tally.failed,
        meanRange: tally.means.bounds,
        stdRange: tally.stds.bounds,
      },
    };
  }

  recommend(result: CheckOutcome): string {
    const failures = result.details?.failures as Record<Failure, number> | undefined;
    if (failures?.['non-finite'])
      return 'Some samples are NaN or Inf: look for log, sqrt or division of invalid values and float16 overflow in the sampling loop, and check the noise schedule.';
    if (failures?.collapsed)
      return 'Samples have collapsed to near-constant values: check that the noise input is used and that the exported graph is not the training graph with a fixed seed or a zeroed output scale.';
    return "Samples are off-centre or out of scale: check the final activation, the output scaling and the sampler's denoising steps in the exported graph.";
  }
}

/** Every sample judged so far: how many, how many sound, and why the others are not. */
class SampleTally {
  drawn = 0;
  valid = 0;
  readonly failures: Record<Failure, number> = { 'non-finite': 0, mean: 0, collapsed: 0, exploding: 0 };
  /** The first few failed samples; `failures` counts them all. */
  readonly failed: FailedSample[] = [];
  readonly means = new Range();
  readonly stds = new Range();

  constructor(private readonly thresholds: Thresholds) {}

  /** Judges the first `take` rows of a batch of `size`: a sample is sound when its row of every output is. */
  judgeBatch(outputs: { name: string; values: Float64Array }[], size: number, take: number): void {
    for (let row = 0; row < take; row++) {
      let sound = true;
      for (const output of outputs) {
        const perSample = output.values.length / size;
        const statistics = meanAndStd(output.values.subarray(row * perSample, (row + 1) * perSample));
        this.means.add(statistics.mean);
        this.stds.add(statistics.std);
        const failure = judge(statistics, this.thresholds);
        if (!failure) continue;
        sound = false;
        this.failures[failure]++;
        if (this.failed.length < LISTED_FAILURES) this.failed.push({ sample: this.drawn + row, output: output.name, failure, ...statistics });
      }
      if (sound) this.valid++;
    }
    this.drawn += take;
  }
}

/** One run of `size` samples on fresh noise. */
async function draw(context: GateContext, session: OnnxSession, size: number, random: SeededRandom): ReturnType<OnnxSession['run']> {
  const { inputs } = resolveInputs(context, session, size);
  return session.run(Object.fromEntries(inputs.map((input) => [input.name, synthesizeTensor(input.dtype, input.shape, random)])));
}

function meanAndStd(values: Float64Array): { mean: number; std: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

function judge(statistics: { mean: number; std: number }, thresholds: Thresholds): Failure | undefined {
  if (!Number.isFinite(statistics.mean) || !Number.isFinite(statistics.std)) return 'non-finite';
  if (Math.abs(statistics.mean) >= thresholds.maxAbsMean) return 'mean';
  if (statistics.std <= thresholds.minStd) return 'collapsed';
  if (statistics.std >= thresholds.maxStd) return 'exploding';
  return undefined;
}

/** Smallest and largest of the finite values added. */
class Range {
  private min = Infinity;
  private max = -Infinity;

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
  }

  /** Null when no finite value was added. */
  get bounds(): [number, number] | null {
    return this.min <= this.max ? [this.min, this.max] : null;
  }
}
