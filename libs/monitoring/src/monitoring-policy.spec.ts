import { DEFAULT_ANALYSIS_POLICY, DEFAULT_JUDGE_CRITERIA } from '@gatehouse/canary-judge';
import { DEFAULT_MONITORING_POLICY_FILE } from '@gatehouse/config';
import { MonitoringPolicy, MonitoringPolicyError } from './monitoring-policy';

function problems(json: unknown): string[] {
  try {
    MonitoringPolicy.parse(json, 'test');
  } catch (error) {
    if (error instanceof MonitoringPolicyError) return error.problems;
    throw error;
  }
  return [];
}

describe('MonitoringPolicy', () => {
  it('ships the schedule and criteria of canary-judge as its defaults', () => {
    const shipped = MonitoringPolicy.load(DEFAULT_MONITORING_POLICY_FILE).analysisFor('any-model');
    expect(shipped).toEqual({ enabled: true, ...DEFAULT_ANALYSIS_POLICY, criteria: DEFAULT_JUDGE_CRITERIA });
  });

  it('lets a model override any key, criteria key by key, and keeps the defaults for the rest', () => {
    const policy = MonitoringPolicy.parse({
      analysis: { steps: [10, 50], intervalSeconds: 30, bakeSeconds: 60 },
      models: { ranker: { analysis: { failureLimit: 1, criteria: { maxLatencyRatio: 1.2 } } }, legacy: { analysis: { enabled: false } } },
    });
    expect(policy.analysisFor('other')).toMatchObject({ steps: [10, 50], intervalSeconds: 30, failureLimit: DEFAULT_ANALYSIS_POLICY.failureLimit });
    expect(policy.analysisFor('ranker')).toMatchObject({ steps: [10, 50], failureLimit: 1, criteria: { ...DEFAULT_JUDGE_CRITERIA, maxLatencyRatio: 1.2 } });
    expect(policy.analysisFor('legacy').enabled).toBe(false);
  });

  it('names every problem at once', () => {
    expect(
      problems({
        analysis: { steps: [50, 25], intervalSeconds: 0, failureLimit: 1.5, criteria: { alpha: 2, minSamples: 0, speed: 1 } },
        models: { ranker: { analysis: { bakeSeconds: 10, intervalSeconds: 60 } }, broken: 3 },
        tracing: [],
      }),
    ).toEqual([
      'unknown key "tracing"',
      'analysis.steps must be increasing whole percents from 1 to 100, such as [5, 25, 50]',
      'analysis.intervalSeconds must be a whole number of seconds from 1 to 86400',
      'analysis.failureLimit must be a whole number from 1 to 1000',
      'analysis.criteria: unknown key "speed" (expected alpha, minErrorRateIncrease, minAccuracyRatio, maxLatencyRatio, maxErrorRateRatio, maxDrift, minSamples, minDriftSamples, minLabels)',
      'analysis.criteria.alpha must be a number between 0 and 1',
      'analysis.criteria.minSamples must be a whole number from 1',
      'models.ranker.analysis: bakeSeconds (10) is shorter than one interval (60 s)',
      'models.broken must be an object with "analysis" or "provider"',
    ]);
  });
});
