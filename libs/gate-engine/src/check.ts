import type { GateContext } from './gate-context';
import type { Severity, Task } from './terms';
export type CheckStatus = 'passed' | 'warning' | 'failed' | 'skipped' | 'error';
export type CheckValue = number | string | boolean | null;

/** What a check concluded; the engine adds identity, severity and timing. */
export interface CheckOutcome {
  status: CheckStatus;
  message: string;
  value?: CheckValue;
  threshold?: CheckValue;
  details?: Record<string, unknown>;
  /**
   * What to do, set where the cause is known at the point of failure and the
   * same whichever check met it (an unusable dataset or production version, an
   * error the engine recognises); otherwise the engine asks the check's
   * `recommend()`. Only failures, errors and warnings keep one.
   */
  recommendation?: string;
}

export interface CheckResult extends CheckOutcome {
  id: string;
  family: CheckFamily;
  severity: Severity;
  value: CheckValue;
  threshold: CheckValue;
  durationMs: number;
  /**
   * The check that failed or errored and so kept this one from running, directly
   * or through a check it blocked in turn (its root cause). Set only on skipped
   * results; such a check counts as failed in the health score and has no
   * recommendation of its own. Absent for checks skipped because they do not apply.
   */
  blockedBy?: string;
}

export type CheckFamily = 'validation' | 'regression' | 'security';

/** One tunable number or switch of a check, as config/gates.json may set it. */
export interface ThresholdSpec {
  /** `names` is a list of strings, e.g. allowed operator domains; `integers` a non-empty list of whole numbers, e.g. batch sizes. */
  type: 'number' | 'integer' | 'boolean' | 'names' | 'integers';
  /** Inclusive bounds for numbers, and for each of `integers`. */
  min?: number;
  max?: number;
  description: string;
}

export type Thresholds = Record<string, number | boolean | readonly string[] | readonly number[]>;

/**
 * A gate check: one small class with a stable id, the thresholds it accepts
 * (and their defaults, per task where they differ), and one `run`.
 */
export interface GateCheck<T extends Thresholds = Thresholds> {
  readonly id: string;
  readonly family: CheckFamily;
  readonly description: string;
  /** Severity unless the policy says otherwise. */
  readonly severity: Severity;
  /** Tasks the check means something for; others skip it. */
  readonly tasks?: readonly Task[];
  /** Checks whose failure makes this one pointless (it is skipped, not failed twice). */
  readonly requires?: readonly string[];
  /** Why the check does not apply to this version, if it does not: it is skipped saying so, before its prerequisites are looked at. */
  notApplicable?(context: GateContext): string | undefined;
  readonly thresholds: Record<keyof T & string, ThresholdSpec>;
  readonly defaults: T;
  readonly taskDefaults?: Partial<Record<Task, Partial<T>>>;
  run(context: GateContext, thresholds: T): Promise<CheckOutcome>;
  /** What to do about a failure, for the report. */
  recommend(result: CheckOutcome): string;
}

/** A check's thresholds for a task: its defaults, the task's defaults, then each override in order. */
export function thresholdsFor(check: GateCheck, task: Task, ...overrides: (Record<string, unknown> | undefined)[]): Thresholds {
  return <Thresholds>Object.assign({}, check.defaults, check.taskDefaults?.[task], ...overrides);
}
