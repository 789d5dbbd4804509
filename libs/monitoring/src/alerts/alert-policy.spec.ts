import { DEFAULT_ALERT_RULES } from '@gatehouse/canary-judge';
import { DEFAULT_MONITORING_POLICY_FILE } from '@gatehouse/config';
import { MonitoringPolicyError } from '../monitoring-policy';
import { AlertPolicy } from './alert-policy';

function problems(json: unknown): string[] {
  try {
    AlertPolicy.parse(json, 'test');
  } catch (error) {
    if (error instanceof MonitoringPolicyError) return error.problems;
    throw error;
  }
  return [];
}

describe('AlertPolicy', () => {
  it("watches production with the brief's rules every five minutes by default, rolling back gradually over ten", () => {
    expect(AlertPolicy.load(DEFAULT_MONITORING_POLICY_FILE).for('any')).toEqual({ intervalSeconds: 300, gradualRollbackSeconds: 600, rules: DEFAULT_ALERT_RULES });
  });

  it('changes rules by name, adds new ones, drops one set to false, and lets a model override key by key', () => {
    const policy = AlertPolicy.parse({
      alerts: { intervalSeconds: 60, rules: { ModelLatencyHigh: { threshold: 500, rollback: true }, ModelDriftWarning: false } },
      models: {
        ranker: { alerts: { rules: { ModelErrors: { metric: 'error_rate', comparison: 'above', threshold: 0.05, severity: 'critical', rollback: true } } } },
      },
    });
    const rules = policy.for('other').rules;
    expect(policy.for('other').intervalSeconds).toBe(60);
    expect(rules.find((rule) => rule.name === 'ModelLatencyHigh')).toMatchObject({ threshold: 500, rollback: true, severity: 'warning', metric: 'latency_p95' });
    expect(rules.map((rule) => rule.name)).not.toContain('ModelDriftWarning');
    const ranker = policy.for('ranker');
    expect(ranker.intervalSeconds).toBe(60);
    expect(ranker.rules.at(-1)).toEqual({
      name: 'ModelErrors',
      metric: 'error_rate',
      comparison: 'above',
      threshold: 0.05,
      relativeToBaseline: false,
      severity: 'critical',
      rollback: true,
    });
    expect(ranker.rules.find((rule) => rule.name === 'ModelLatencyHigh')!.threshold).toBe(500);
  });

  it('names every problem at once', () => {
    expect(
      problems({
        alerts: { intervalSeconds: 0, every: 5, rules: { ModelLatencyHigh: { threshold: 'fast' }, Mine: { metric: 'speed' }, Gone: false } },
      }),
    ).toEqual([
      'alerts: unknown key "every" (expected intervalSeconds, gradualRollbackSeconds, rules)',
      'alerts.intervalSeconds must be a whole number from 1 to 86400',
      'alerts.rules.ModelLatencyHigh.threshold must be a number',
      'alerts.rules.Mine.metric must be one of accuracy, drift, latency_p95, error_rate',
      'alerts.rules.Mine.comparison is required for a new rule: above or below',
      'alerts.rules.Mine.threshold is required for a new rule: a number',
      'alerts.rules.Mine.severity is required for a new rule: warning or critical',
      'alerts.rules.Gone: there is no such rule to drop',
    ]);
  });
});
