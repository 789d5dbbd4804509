import type { CheckOutcome, GateCheck } from '../../check';
import type { CanaryAnalysisStanding, GateContext } from '../../gate-context';
import { baselineOf, refOf } from './comparison';

/** The check's id: the registry looks up a version's analyses only for runs whose policy has it. */
export const CANARY_ANALYSIS_CHECK_ID = 'canary_analysis';

/** How to get a new analysis: one for the canary it is, or by taking it to canary. */
function analyseAgain(model: string, ref: string, standing: CanaryAnalysisStanding, against: string): string {
  return standing.canary
    ? `Analyse the canary ${ref} again against ${against}: gatehouse analysis start ${model} (POST /v1/models/{name}/analysis-runs), and request production once it has passed.`
    : `Promote ${ref} to canary: its analysis compares it with ${against} on live traffic over the policy's traffic steps, and production can be requested once it has passed.`;
}

/** What each unfinished or unsuccessful analysis status means for a promotion, and what to do about it. */
const NOT_PASSED: Record<string, { means: string; todo: (id: string, again: () => string) => string }> = {
  running: { means: 'is still running', todo: (id) => `Wait for it to pass its last traffic step (gatehouse analysis show ${id} --watch), then request production again.` },
  paused: {
    means: 'is paused after too many inconclusive intervals',
    todo: (id) => `Look at its intervals, then resume it (gatehouse analysis resume ${id}) or abort it; request production once it has passed.`,
  },
  rolled_back: { means: 'failed and rolled the canary back', todo: () => 'Fix the regression its failed intervals show, register a new version and take it through canary again.' },
  aborted: { means: 'was aborted, which took the version out of service', todo: () => 'Register a new version and take it through canary.' },
  cancelled: { means: 'was cancelled when the canary or production moved', todo: (_, again) => again() },
};

/**
 * Production takes a version only after it served as a canary and its
 * analysis passed against the version it would replace: the other regression
 * checks compare the artifacts on the gate's machine, the analysis compares
 * the two on live traffic. The registry looks up the version's most recent
 * analysis for the run; only that one counts, since a later analysis that
 * failed outweighs an earlier pass. An analysis against a production version
 * that has since been replaced says nothing about the one in production now.
 */
export class CanaryAnalysisCheck implements GateCheck {
  readonly id = CANARY_ANALYSIS_CHECK_ID;
  readonly family = 'regression';
  readonly description = "the version's most recent canary analysis passed, against the version in production now";
  readonly severity = 'critical';
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    // The first version to serve had nothing to be analysed against, so it never had an analysis.
    const found = baselineOf(context);
    if ('outcome' in found) return found.outcome;
    const { baseline } = found;
    const standing = context.subject.canaryAnalysis;
    if (!standing) return { status: 'skipped', message: 'no canary analysis records: the version was validated where the registry cannot be asked' };
    const latest = standing.latest;
    // A policy turned off does not wave through an analysis still deciding.
    const deciding = latest?.status === 'running' || latest?.status === 'paused';
    if (!standing.enabled && !deciding) return { status: 'skipped', message: `the monitoring policy does not analyse ${context.subject.model}'s canaries` };
    const again = () => analyseAgain(context.subject.model, refOf(context), standing, refOf(baseline));
    if (!latest) {
      return {
        status: 'failed',
        value: 'none',
        threshold: 'passed',
        message: `${refOf(context)} has never been analysed as a canary, and production requires a passed canary analysis against ${refOf(baseline)}`,
        recommendation: again(),
      };
    }
    const details = { analysisRun: latest.id, analysisStatus: latest.status, analysedAgainst: latest.baselineVersion, intervals: latest.intervals, finishedAt: latest.finishedAt };
    const notPassed = NOT_PASSED[latest.status];
    if (latest.status !== 'passed') {
      return {
        status: 'failed',
        value: latest.status,
        threshold: 'passed',
        message: `canary analysis ${latest.id} of ${refOf(context)} ${notPassed?.means ?? `ended ${latest.status}`}, and production requires a passed one`,
        details,
        recommendation: notPassed?.todo(latest.id, again),
      };
    }
    if (latest.baselineVersion !== baseline.subject.version) {
      return {
        status: 'failed',
        value: latest.status,
        threshold: 'passed',
        message: `canary analysis ${latest.id} passed against ${context.subject.model}@${latest.baselineVersion}, but ${refOf(baseline)} is in production now`,
        details,
        recommendation: again(),
      };
    }
    return {
      status: 'passed',
      value: 'passed',
      threshold: 'passed',
      message: `canary analysis ${latest.id} passed against ${refOf(baseline)} over ${latest.intervals} intervals`,
      details,
    };
  }

  recommend(): string {
    return 'Take the version through canary until its analysis passes (gatehouse analysis show <id> --watch), then request production again.';
  }
}
