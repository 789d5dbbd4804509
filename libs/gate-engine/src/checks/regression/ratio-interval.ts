import { SeededRandom } from '@gatehouse/onnx';

/** A ratio candidate / baseline as measured, and an interval that holds its true value with (at least) `confidence`. */
export interface RatioInterval {
  ratio: number;
  low: number;
  high: number;
  confidence: number;
}

/** How a measured ratio stands against the highest one allowed: wholly above fails, wholly at or below passes, straddling it says nothing either way. */
export type IntervalVerdict = 'passed' | 'warning' | 'failed';

export function verdictAgainst(interval: Pick<RatioInterval, 'low' | 'high'>, maxRatio: number): IntervalVerdict {
  if (interval.low > maxRatio) return 'failed';
  return interval.high <= maxRatio ? 'passed' : 'warning';
}

/** candidate / baseline, with a zero baseline giving 1 over a zero candidate and Infinity over anything larger. */
function ratioOf(candidate: number, baseline: number): number {
  if (baseline !== 0) return candidate / baseline;
  return candidate === 0 ? 1 : Infinity;
}

/** Nearest-rank percentile (`p` in 0..100) of values in any order, as `percentile` in @gatehouse/onnx reads sorted ones; reorders `values`. */
export function percentileInPlace(values: Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  const rank = Math.min(values.length, Math.max(1, Math.ceil((p / 100) * values.length)));
  return select(values, rank - 1);
}

/** The k-th smallest (from 0) by quickselect with Hoare partitioning: linear on average, where sorting each resample would cost n log n. */
function select(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (left < right) {
    const pivot = values[(left + right) >> 1];
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        [values[i], values[j]] = [values[j], values[i]];
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return values[k];
  }
  return values[k];
}

export interface BootstrapOptions {
  /** The percentile compared, 0..100 (95 for p95). */
  percentile: number;
  resamples: number;
  /** Two-sided, e.g. 0.95. */
  confidence: number;
  seed: number;
  /** Consecutive rounds drawn together; ⌈√rounds⌉ unless given (1 draws single rounds). */
  blockRounds?: number;
}

/**
 * A percentile-bootstrap interval of percentile(candidate) / percentile(baseline)
 * for samples taken in paired rounds: `baseline[i]` and `candidate[i]` were
 * measured one right after the other, so both arrays have one entry per round.
 *
 * Each resample draws whole rounds, both models' samples of a round together,
 * rather than each model's samples on their own. The round is what the
 * machine's conditions (another process on the core, a cache flushed, a
 * frequency step) are shared by, so keeping its pair together keeps what
 * the two numbers have in common out of their ratio; resampling them apart
 * would treat that shared disturbance as independent scatter of each and
 * widen the interval for nothing. It stays honest because the rounds, not
 * the single runs, are what is drawn from: a disturbance one round saw is
 * resampled as often as that round, in both numerator and denominator.
 * Conditions also drift over seconds (a neighbour's burst spans many
 * rounds), so rounds are drawn in circular blocks of consecutive ones
 * (a moving-block bootstrap): that keeps the interval from claiming the
 * precision of independent rounds where neighbouring ones are alike.
 */
export function pairedPercentileRatioInterval(baseline: readonly number[], candidate: readonly number[], options: BootstrapOptions): RatioInterval {
  const rounds = baseline.length;
  if (rounds === 0 || candidate.length !== rounds) throw new RangeError(`paired samples need the same number of rounds on both sides, not ${rounds} and ${candidate.length}`);
  const blockRounds = Math.min(rounds, Math.max(1, options.blockRounds ?? Math.ceil(Math.sqrt(rounds))));
  const random = new SeededRandom(options.seed);
  const drawnBaseline = new Float64Array(rounds);
  const drawnCandidate = new Float64Array(rounds);
  const ratios = new Float64Array(options.resamples);
  for (let resample = 0; resample < options.resamples; resample++) {
    for (let filled = 0; filled < rounds;) {
      const start = Math.floor(random.next() * rounds);
      for (let offset = 0; offset < blockRounds && filled < rounds; offset++, filled++) {
        const round = (start + offset) % rounds;
        drawnBaseline[filled] = baseline[round];
        drawnCandidate[filled] = candidate[round];
      }
    }
    ratios[resample] = ratioOf(percentileInPlace(drawnCandidate, options.percentile), percentileInPlace(drawnBaseline, options.percentile));
  }
  ratios.sort();
  const tail = (1 - options.confidence) / 2;
  return {
    ratio: ratioOf(percentileInPlace(Float64Array.from(candidate), options.percentile), percentileInPlace(Float64Array.from(baseline), options.percentile)),
    low: ratios[Math.min(options.resamples - 1, Math.floor(tail * options.resamples))],
    high: ratios[Math.max(0, Math.ceil((1 - tail) * options.resamples) - 1)],
    confidence: options.confidence,
  };
}

/**
 * The median of per-round ratios candidate[i] / baseline[i], with the
 * distribution-free interval for a median: the k-th smallest and k-th
 * largest of n ratios hold the true median with probability
 * 1 - 2·P(Binomial(n, ½) < k), whatever the ratios' distribution. The
 * narrowest such interval reaching `confidence` is taken; when n is too
 * small for any to reach it, the widest (smallest to largest) is, and
 * `confidence` says what it does reach (93.75% for 5 rounds).
 */
export function pairedMedianRatioInterval(baseline: readonly number[], candidate: readonly number[], confidence: number): RatioInterval {
  const n = baseline.length;
  if (n === 0 || candidate.length !== n) throw new RangeError(`paired samples need the same number of rounds on both sides, not ${n} and ${candidate.length}`);
  const sorted = Float64Array.from(baseline, (value, round) => ratioOf(candidate[round], value)).sort();
  const middle = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  let k = 1;
  while (k + 1 <= Math.ceil(n / 2) && medianCoverage(n, k + 1) >= confidence) k++;
  return { ratio: median, low: sorted[k - 1], high: sorted[n - k], confidence: medianCoverage(n, k) };
}

/** P(the k-th smallest of n draws ≤ median ≤ the k-th largest) = 1 - 2·P(Binomial(n, ½) ≤ k - 1). */
function medianCoverage(n: number, k: number): number {
  let below = 0;
  let choose = 1;
  for (let i = 0; i < k; i++) {
    below += choose;
    choose = (choose * (n - i)) / (i + 1);
  }
  return Math.max(0, 1 - (2 * below) / 2 ** n);
}
