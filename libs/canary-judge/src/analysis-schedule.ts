import { AnalysisStateError } from './errors';
import { DEFAULT_JUDGE_CRITERIA, type IntervalJudgement, type JudgeCriteria, type Verdict } from './judge';

/**
 * How a canary is analysed: traffic steps, each baked for a while and
 * judged every interval. Limits count intervals over the whole analysis, not
 * in a row (as Argo Rollouts' failureLimit and inconclusiveLimit do): a
 * canary that fails one interval in three is as bad as one that fails three
 * in a row, and counting in a row would let it through.
 */
export interface AnalysisPolicy {
  /** Canary traffic percent at each step, increasing. */
  steps: number[];
  /** How long each step is watched: ceil(bakeSeconds / intervalSeconds) passed intervals. */
  bakeSeconds: number;
  /** The window each judgement covers. */
  intervalSeconds: number;
  /** Failed intervals (in total) that roll the canary back. */
  failureLimit: number;
  /** Inconclusive intervals (in total since the start or the last resume) that pause the analysis for a person. */
  inconclusiveLimit: number;
  /** What judgeInterval holds each interval to; minimum samples per window are criteria.minSamples. */
  criteria: JudgeCriteria;
}

export const DEFAULT_ANALYSIS_POLICY: Readonly<AnalysisPolicy> = Object.freeze({
  steps: [5, 25, 50],
  bakeSeconds: 300,
  intervalSeconds: 60,
  failureLimit: 2,
  inconclusiveLimit: 3,
  criteria: DEFAULT_JUDGE_CRITERIA,
});

export type AnalysisStatus = 'running' | 'paused' | 'rolled_back' | 'passed';

/** Where an analysis is: plain JSON, persisted between intervals. */
export interface AnalysisState {
  status: AnalysisStatus;
  /** Index into policy.steps. */
  step: number;
  trafficPercent: number;
  /** Intervals passed in the current step, towards its bake. */
  passedInStep: number;
  /** Every interval judged so far, of any verdict. */
  intervals: number;
  failures: number;
  inconclusives: number;
}

/** What the caller does after an interval: nothing, move the canary's traffic, roll it back, pause and alert, or mark the analysis passed. */
export type AnalysisAction =
  { type: 'none' } | { type: 'next_step'; trafficPercent: number } | { type: 'rollback'; failures: number } | { type: 'pause'; inconclusives: number } | { type: 'passed' };

/** Passed intervals a step needs before the next one. */
export function intervalsPerStep(policy: AnalysisPolicy): number {
  return Math.max(1, Math.ceil(policy.bakeSeconds / policy.intervalSeconds));
}

/** The state of a new analysis: the first step's traffic, nothing judged. */
export function startAnalysis(policy: AnalysisPolicy): AnalysisState {
  assertSteps(policy.steps);
  return { status: 'running', step: 0, trafficPercent: policy.steps[0], passedInStep: 0, intervals: 0, failures: 0, inconclusives: 0 };
}

/**
 * Takes one interval's judgement. A failure counts towards failureLimit
 * (rollback), an inconclusive interval towards inconclusiveLimit (pause);
 * neither counts towards the step's bake. The last step baked is `passed`.
 * Throws AnalysisStateError unless the analysis is running.
 */
export function advanceAnalysis(policy: AnalysisPolicy, state: AnalysisState, judgement: IntervalJudgement | Verdict): { state: AnalysisState; action: AnalysisAction } {
  if (state.status !== 'running') throw new AnalysisStateError(state.status);
  const verdict = typeof judgement === 'string' ? judgement : judgement.verdict;
  const next: AnalysisState = { ...state, intervals: state.intervals + 1 };
  switch (verdict) {
    case 'fail':
      next.failures++;
      if (next.failures >= policy.failureLimit) return { state: { ...next, status: 'rolled_back' }, action: { type: 'rollback', failures: next.failures } };
      return { state: next, action: { type: 'none' } };
    case 'inconclusive':
      next.inconclusives++;
      if (next.inconclusives >= policy.inconclusiveLimit) return { state: { ...next, status: 'paused' }, action: { type: 'pause', inconclusives: next.inconclusives } };
      return { state: next, action: { type: 'none' } };
    case 'pass':
      next.passedInStep++;
      if (next.passedInStep < intervalsPerStep(policy)) return { state: next, action: { type: 'none' } };
      if (next.step + 1 >= policy.steps.length) return { state: { ...next, status: 'passed' }, action: { type: 'passed' } };
      next.step++;
      next.trafficPercent = policy.steps[next.step];
      next.passedInStep = 0;
      return { state: next, action: { type: 'next_step', trafficPercent: next.trafficPercent } };
  }
}

/** A paused analysis runs again where it was, its inconclusive count cleared (a person looked). Throws AnalysisStateError unless paused. */
export function resumeAnalysis(state: AnalysisState): AnalysisState {
  if (state.status !== 'paused') throw new AnalysisStateError(state.status);
  return { ...state, status: 'running', inconclusives: 0 };
}

function assertSteps(steps: readonly number[]): void {
  const increasing = steps.every((percent, index) => percent > 0 && percent <= 100 && (index === 0 || percent > steps[index - 1]));
  if (steps.length === 0 || !increasing) throw new RangeError(`traffic steps must be increasing percents in (0, 100], not ${JSON.stringify(steps)}`);
}
