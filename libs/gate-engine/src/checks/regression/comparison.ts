import type { CheckOutcome } from '../../check';
import type { BaselineContext, GateContext } from '../../gate-context';
import type { ComparisonRow } from '../../gate-report';
import { verdictAgainst, type RatioInterval } from './ratio-interval';

/** The production version to compare with, or the outcome of a check that has nothing to compare. */
export function baselineOf(context: GateContext): { baseline: BaselineContext } | { outcome: CheckOutcome } {
  const baseline = context.baseline;
  if (!baseline) return { outcome: { status: 'skipped', message: `there is no production version of ${context.subject.model} yet to compare with` } };
  if (baseline.subject.model === context.subject.model && baseline.subject.version === context.subject.version) {
    return { outcome: { status: 'skipped', message: `${refOf(baseline)} is the production version itself: nothing to compare with` } };
  }
  // Skipping would let the candidate through unexamined: an unusable baseline is a check that could not finish.
  if (baseline.problem) {
    return {
      outcome: {
        status: 'error',
        message: `production version ${refOf(baseline)} could not be compared with: ${baseline.problem}`,
        // The candidate was not judged: the fault is production's stored files, whichever comparison met it.
        recommendation: `Restore the stored files of production version ${refOf(baseline)} from a backup, or roll production back to a version whose files are intact, then run this gate again; the candidate itself was not judged.`,
      },
    };
  }
  return { baseline };
}

export function refOf(context: GateContext): string {
  return `${context.subject.model}@${context.subject.version}`;
}

function ratioOf(candidate: number, baseline: number): number | null {
  if (baseline !== 0) return candidate / baseline;
  return candidate === 0 ? 1 : null;
}

/** A metric where higher is better: the candidate keeps at least `minRatio` of the baseline's. */
export function atLeast(metric: string, baseline: number, candidate: number, minRatio: number): ComparisonRow {
  return { metric, baseline, candidate, ratio: ratioOf(candidate, baseline), threshold: minRatio, bound: 'min', verdict: candidate >= minRatio * baseline ? 'passed' : 'failed' };
}

/** A metric where lower is better: the candidate stays within `maxRatio` of the baseline's, or within `tolerance` of it in absolute terms. */
export function atMost(metric: string, baseline: number, candidate: number, maxRatio: number, tolerance = 0): ComparisonRow {
  const within = candidate <= maxRatio * baseline || candidate - baseline <= tolerance;
  return { metric, baseline, candidate, ratio: ratioOf(candidate, baseline), threshold: maxRatio, bound: 'max', verdict: within ? 'passed' : 'failed' };
}

/**
 * A metric where lower is better, measured with noise: decided on an interval
 * of the ratio (see verdictAgainst), except that a candidate at most
 * `tolerance` above the baseline passes whatever the ratio.
 */
export function atMostWithin(metric: string, baseline: number, candidate: number, interval: RatioInterval, maxRatio: number, tolerance?: number): ComparisonRow {
  const verdict = tolerance !== undefined && candidate - baseline <= tolerance ? 'passed' : verdictAgainst(interval, maxRatio);
  return { metric, baseline, candidate, ratio: interval.ratio, threshold: maxRatio, bound: 'max', interval: [interval.low, interval.high], verdict };
}

/** A check's outcome from its comparison: the row's verdict (a warning where it could not tell), value the ratio, threshold the limit, the row in details for the report's table. */
export function compared(row: ComparisonRow, message: string, details: Record<string, unknown> = {}): CheckOutcome {
  return { status: row.verdict, value: row.ratio, threshold: typeof row.threshold === 'number' ? row.threshold : null, message, details: { ...details, comparison: row } };
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? 'n/a' : `${ratio.toFixed(3)}×`;
}

/** `95% interval 0.981–1.103×` */
export function formatInterval(interval: RatioInterval): string {
  return `${formatConfidence(interval.confidence)} interval ${interval.low.toFixed(3)}–${interval.high.toFixed(3)}×`;
}

function formatConfidence(confidence: number): string {
  return `${Number((confidence * 100).toFixed(2))}%`;
}
