import {
  advanceAnalysis,
  DEFAULT_ANALYSIS_POLICY,
  intervalsPerStep,
  resumeAnalysis,
  startAnalysis,
  type AnalysisAction,
  type AnalysisPolicy,
  type AnalysisState,
} from './analysis-schedule';
import { AnalysisStateError } from './errors';
import type { Verdict } from './judge';

/** Feeds the verdicts in order and returns each action, and the state at the end. */
function run(policy: AnalysisPolicy, verdicts: Verdict[], from = startAnalysis(policy)): { actions: AnalysisAction[]; state: AnalysisState } {
  let state = from;
  const actions: AnalysisAction[] = [];
  for (const verdict of verdicts) {
    const step = advanceAnalysis(policy, state, verdict);
    state = step.state;
    actions.push(step.action);
  }
  return { actions, state };
}

const repeat = (verdict: Verdict, times: number): Verdict[] => new Array<Verdict>(times).fill(verdict);

describe('analysis schedule', () => {
  const policy = DEFAULT_ANALYSIS_POLICY;

  it('starts at the first step, and bakes each for bakeSeconds of intervals', () => {
    expect(startAnalysis(policy)).toEqual({ status: 'running', step: 0, trafficPercent: 5, passedInStep: 0, intervals: 0, failures: 0, inconclusives: 0 });
    expect(intervalsPerStep(policy)).toBe(5);
    expect(intervalsPerStep({ ...policy, bakeSeconds: 90, intervalSeconds: 60 })).toBe(2);
  });

  it('moves through 5, 25 and 50% on passed intervals and marks the last step passed', () => {
    const { actions, state } = run(policy, repeat('pass', 15));
    expect(actions.filter(({ type }) => type !== 'none')).toEqual([{ type: 'next_step', trafficPercent: 25 }, { type: 'next_step', trafficPercent: 50 }, { type: 'passed' }]);
    expect(actions[4]).toEqual({ type: 'next_step', trafficPercent: 25 });
    expect(state).toMatchObject({ status: 'passed', step: 2, trafficPercent: 50, intervals: 15 });
  });

  it('rolls back at failureLimit failures in total, not only in a row', () => {
    const { actions, state } = run(policy, ['fail', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'fail']);
    expect(actions[5]).toEqual({ type: 'next_step', trafficPercent: 25 });
    expect(actions[7]).toEqual({ type: 'rollback', failures: 2 });
    expect(state).toMatchObject({ status: 'rolled_back', trafficPercent: 25, failures: 2, intervals: 8 });
  });

  it('does not count failed or inconclusive intervals towards a step’s bake', () => {
    const { actions, state } = run(policy, ['pass', 'fail', 'inconclusive', 'pass', 'pass', 'pass']);
    expect(actions.every(({ type }) => type === 'none')).toBe(true);
    expect(state).toMatchObject({ status: 'running', step: 0, passedInStep: 4, failures: 1, inconclusives: 1 });
  });

  it('pauses at inconclusiveLimit inconclusive intervals, and resumes where it was with the count cleared', () => {
    const paused = run(policy, ['pass', 'inconclusive', 'pass', 'inconclusive', 'inconclusive']);
    expect(paused.actions[4]).toEqual({ type: 'pause', inconclusives: 3 });
    expect(paused.state).toMatchObject({ status: 'paused', passedInStep: 2 });
    const resumed = resumeAnalysis(paused.state);
    expect(resumed).toMatchObject({ status: 'running', passedInStep: 2, inconclusives: 0, intervals: 5 });
    expect(run(policy, repeat('pass', 3), resumed).actions[2]).toEqual({ type: 'next_step', trafficPercent: 25 });
  });

  it('takes whole judgements as well as verdicts', () => {
    expect(advanceAnalysis(policy, startAnalysis(policy), { verdict: 'fail', metrics: [] }).state.failures).toBe(1);
  });

  it('refuses judgements once stopped, and resumes only paused analyses', () => {
    const rolledBack = run(policy, repeat('fail', 2)).state;
    expect(() => advanceAnalysis(policy, rolledBack, 'pass')).toThrow(AnalysisStateError);
    expect(() => resumeAnalysis(rolledBack)).toThrow(AnalysisStateError);
    expect(() => advanceAnalysis(policy, run(policy, repeat('pass', 15)).state, 'pass')).toThrow(AnalysisStateError);
  });

  it('refuses traffic steps that are not increasing percents', () => {
    expect(() => startAnalysis({ ...policy, steps: [] })).toThrow(RangeError);
    expect(() => startAnalysis({ ...policy, steps: [25, 5] })).toThrow(RangeError);
    expect(() => startAnalysis({ ...policy, steps: [50, 120] })).toThrow(RangeError);
  });

  it('is a single step when the policy has one', () => {
    expect(run({ ...policy, steps: [10], bakeSeconds: 60 }, ['pass']).actions).toEqual([{ type: 'passed' }]);
  });
});
