import type { CheckOutcome, CheckResult, GateCheck } from './check';
import { DatasetFormatError } from './evaluation';
import { ModelFileError, type GateContext } from './gate-context';
import { summarize, type GateReport } from './gate-report';
import type { StagePolicy } from './gate-policy';

export class GateTimeoutError extends Error {
  constructor(readonly timeoutSeconds: number) {
    super(`the gate run took longer than its ${timeoutSeconds} s limit`);
    this.name = 'GateTimeoutError';
  }
}

const RSS_SAMPLE_INTERVAL_MS = 20;

/**
 * What a run tells as it goes: check `index` (from 0) of the policy's `total`
 * starts, then finishes with its result. Each check is heard of both times,
 * one skipped for a missing prerequisite too.
 */
export type GateProgress =
  { event: 'started'; check: string; index: number; total: number } | { event: 'finished'; check: string; index: number; total: number; result: CheckResult };

/**
 * Runs a stage policy's checks in order against one version. A check that
 * throws is recorded as an error (and fails the gate if critical: a scan
 * that could not finish must not pass); a check whose prerequisite did not
 * pass is skipped rather than failed a second time, marked as blocked by the
 * root cause so the report scores it as failed and advises on the cause alone.
 */
export class GateEngine {
  private readonly checks: ReadonlyMap<string, GateCheck>;

  constructor(checks: readonly GateCheck[]) {
    this.checks = new Map(checks.map((check) => [check.id, check]));
  }

  /** Whether the policy compares the candidate with the version in production, which the caller then provides as the context's baseline. */
  comparesWithBaseline(policy: StagePolicy): boolean {
    return policy.checks.some((entry) => this.checks.get(entry.id)?.family === 'regression');
  }

  /** `onProgress` hears of each check as it starts and as its result is recorded: the sandbox forwards both, so a run killed midway still shows what it did. */
  async run(context: GateContext, policy: StagePolicy, onProgress?: (progress: GateProgress) => void): Promise<GateReport> {
    const startedAt = new Date();
    const deadline = Date.now() + policy.settings.timeoutSeconds * 1000;
    const cpuBefore = process.cpuUsage();
    const memory = new RssSampler();
    const results: CheckResult[] = [];
    try {
      const total = policy.checks.length;
      for (const [index, entry] of policy.checks.entries()) {
        if (Date.now() > deadline) throw new GateTimeoutError(policy.settings.timeoutSeconds);
        const check = this.checks.get(entry.id);
        if (!check) throw new Error(`the policy names check "${entry.id}", which this engine does not have`);
        onProgress?.({ event: 'started', check: check.id, index, total });
        const started = performance.now();
        const notRun = notApplicable(check, policy.task, context) ?? prerequisiteMissing(check, results);
        const outcome: CheckOutcome = notRun?.outcome ?? (await withDeadline(runCheck(check, context, entry.thresholds), deadline, policy.settings.timeoutSeconds, context));
        const { recommendation, ...concluded } = outcome;
        const result: CheckResult = {
          id: check.id,
          family: check.family,
          severity: entry.severity,
          value: outcome.value ?? null,
          threshold: outcome.threshold ?? null,
          ...concluded,
          // A policy that makes a check a warning means its failure reports but never blocks.
          status: entry.severity === 'warning' && outcome.status === 'failed' ? 'warning' : outcome.status,
          durationMs: performance.now() - started,
          ...(notRun?.blockedBy ? { blockedBy: notRun.blockedBy } : {}),
        };
        if (result.status === 'failed' || result.status === 'error' || result.status === 'warning') result.recommendation = recommendation ?? check.recommend(outcome);
        results.push(result);
        onProgress?.({ event: 'finished', check: check.id, index, total, result });
        memory.sample();
      }
    } finally {
      memory.stop();
      await context.dispose();
    }
    const cpu = process.cpuUsage(cpuBefore);
    const finishedAt = new Date();
    return {
      stage: policy.stage,
      subject: { model: context.subject.model, version: context.subject.version, task: context.subject.task },
      baseline: context.baseline ? { model: context.baseline.subject.model, version: context.baseline.subject.version } : null,
      ...summarize(results),
      results,
      resources: { cpuTimeMs: (cpu.user + cpu.system) / 1000, peakRssBytes: memory.peak, rssIncreaseBytes: Math.max(0, memory.peak - memory.baseline) },
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
  }
}

/** Why a check was not run, and the check whose failure kept it from running, if one did. */
type NotRun = { outcome: CheckOutcome; blockedBy?: string };

/**
 * Why a check does not apply, if it does not: it is for other tasks (only a
 * policy of every check, `gatehouse validate --check-all`, holds such a check:
 * a stage's leaves it out) or it says so itself.
 */
function notApplicable(check: GateCheck, task: StagePolicy['task'], context: GateContext): NotRun | undefined {
  const reason = check.tasks && !check.tasks.includes(task) ? `${check.id} does not apply to ${task} models` : check.notApplicable?.(context);
  return reason === undefined ? undefined : { outcome: { status: 'skipped', message: `not run: ${reason}` } };
}

/**
 * Why a check cannot run, if it cannot: a prerequisite that failed or errored,
 * or was itself blocked (the root cause is passed on, so the report can name
 * it), else one skipped because it does not apply, which makes this one not
 * apply either. Prerequisites the policy does not run don't hold a check back.
 */
function prerequisiteMissing(check: GateCheck, results: readonly CheckResult[]): NotRun | undefined {
  const prerequisites = (check.requires ?? []).flatMap((id) => results.filter((result) => result.id === id));
  const blocker = prerequisites.find((result) => result.status === 'failed' || result.status === 'error' || result.blockedBy);
  if (blocker) {
    const root = blocker.blockedBy ?? blocker.id;
    const message = blocker.blockedBy ? `not run: ${blocker.id} could not run because ${root} did not pass` : `not run: ${root} did not pass`;
    return { outcome: { status: 'skipped', message }, blockedBy: root };
  }
  const inapplicable = prerequisites.find((result) => result.status === 'skipped');
  return inapplicable && { outcome: { status: 'skipped', message: `not run: ${inapplicable.id} was skipped` } };
}

async function runCheck(check: GateCheck, context: GateContext, thresholds: StagePolicy['checks'][number]['thresholds']): Promise<CheckOutcome> {
  try {
    return await check.run(context, thresholds);
  } catch (error) {
    const outcome: CheckOutcome = { status: 'error', message: `the check could not complete: ${(error as Error).message}`, details: { error: (error as Error).name } };
    const recommendation = adviceForError(error);
    return recommendation ? { ...outcome, recommendation } : outcome;
  }
}

/** Advice for errors whose cause is the version's, not the check's: the same whichever check met them. */
function adviceForError(error: unknown): string | undefined {
  if (error instanceof DatasetFormatError)
    return 'Fix the dataset at the line the message names and register the version with the corrected dataset: one JSON object per line, {"inputs": {…}, "label": …}, inputs keyed by the model\'s input names without the batch dimension.';
  if (error instanceof ModelFileError) return 'Register the version with exactly one ONNX file, or name the one to serve model.onnx.';
  return undefined;
}

/** Rejects at the deadline and aborts the context, so the abandoned check stops at its next model call. */
function withDeadline<T>(work: Promise<T>, deadline: number, timeoutSeconds: number, context: GateContext): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const timeout = new GateTimeoutError(timeoutSeconds);
        context.abort(timeout);
        reject(timeout);
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** Samples the process's resident set while a run goes on; the peak is what the host had to provide. */
class RssSampler {
  readonly baseline = process.memoryUsage.rss();
  peak = this.baseline;
  private readonly timer = setInterval(() => this.sample(), RSS_SAMPLE_INTERVAL_MS).unref();

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
