import { DEFAULT_ALERT_RULES, evaluateAlertRules, type AlertEvaluation } from './alert-rules';
import { referenceProfile } from './reference-profile';
import { emptyAggregate, foldObservations, type Observation, type TelemetryAggregate } from './telemetry-aggregate';

const uniform = (i: number) => (i * 0.6180339887498949) % 1;

/** A reference whose model was right 9 times in 10. */
const PROFILE = referenceProfile(
  Array.from({ length: 1000 }, (_, i) => ({ inputs: { amount: 100 * uniform(i) }, label: i % 2, outputs: { scores: i % 10 === 0 ? [i % 2, 1 - (i % 2)] : [1 - (i % 2), i % 2] } })),
  { task: 'classification' },
);

function production({ count = 1000, latencyMs = 200, wrongEvery = 20, shift = 0 } = {}): TelemetryAggregate {
  const observations = Array.from({ length: count }, (_, i): Observation => ({
    latencyMs: latencyMs * (0.5 + uniform(i)),
    error: i % 100 === 0,
    prediction: { class: i % 2 },
    features: { amount: 100 * uniform(i + 1) + shift },
    label: i % wrongEvery === 0 ? 1 - (i % 2) : i % 2,
  }));
  return foldObservations(emptyAggregate(), observations, PROFILE);
}

function states(evaluations: AlertEvaluation[]): Record<string, string> {
  return Object.fromEntries(evaluations.map(({ rule, state }) => [rule, state]));
}

describe('alert rules', () => {
  it('holds the brief’s defaults', () => {
    expect(
      DEFAULT_ALERT_RULES.map(({ name, metric, comparison, threshold, relativeToBaseline, severity }) => [name, metric, comparison, threshold, relativeToBaseline, severity]),
    ).toEqual([
      ['ModelAccuracyDrop', 'accuracy', 'below', 0.9, true, 'warning'],
      ['ModelDriftDetected', 'drift', 'above', 0.2, false, 'critical'],
      ['ModelLatencyHigh', 'latency_p95', 'above', 1000, false, 'warning'],
      ['ModelDriftWarning', 'drift', 'above', 0.1, false, 'warning'],
      ['ModelDriftCritical', 'drift', 'above', 0.3, false, 'critical'],
    ]);
  });

  it('fires nothing on healthy traffic', () => {
    expect(states(evaluateAlertRules(DEFAULT_ALERT_RULES, production(), production(), PROFILE))).toEqual({
      ModelAccuracyDrop: 'ok',
      ModelDriftDetected: 'ok',
      ModelLatencyHigh: 'ok',
      ModelDriftWarning: 'ok',
      ModelDriftCritical: 'ok',
    });
  });

  it('fires ModelAccuracyDrop below 0.9 × the baseline’s accuracy, with the value and the worked-out threshold', () => {
    // Baseline 95% right; current 75%.
    const [accuracy] = evaluateAlertRules(DEFAULT_ALERT_RULES, production({ wrongEvery: 4 }), production(), PROFILE);
    expect(accuracy).toMatchObject({ rule: 'ModelAccuracyDrop', state: 'firing', severity: 'warning', samples: 1000 });
    expect(accuracy.value).toBeCloseTo(0.75, 10);
    expect(accuracy.threshold).toBeCloseTo(0.95 * 0.9, 10);
  });

  it('falls back to the reference’s accuracy without a baseline', () => {
    const [accuracy] = evaluateAlertRules(DEFAULT_ALERT_RULES, production({ wrongEvery: 4 }), null, PROFILE);
    expect(accuracy.state).toBe('firing');
    expect(accuracy.threshold).toBeCloseTo(0.9 * 0.9, 10);
  });

  it('fires ModelLatencyHigh when the p95 passes 1000 ms', () => {
    const latency = evaluateAlertRules(DEFAULT_ALERT_RULES, production({ latencyMs: 900 }), null, PROFILE)[2];
    expect(latency).toMatchObject({ rule: 'ModelLatencyHigh', state: 'firing', threshold: 1000 });
    expect(latency.value!).toBeGreaterThan(1000);
  });

  it('fires the drift rules by severity as the drift grows', () => {
    expect(states(evaluateAlertRules(DEFAULT_ALERT_RULES, production({ shift: 60 }), null, PROFILE))).toMatchObject({
      ModelDriftWarning: 'firing',
      ModelDriftDetected: 'firing',
      ModelDriftCritical: 'firing',
    });
    const mild = evaluateAlertRules(DEFAULT_ALERT_RULES, production({ shift: 8 }), null, PROFILE);
    const drift = mild.find(({ rule }) => rule === 'ModelDriftWarning')!;
    expect(drift.value!).toBeGreaterThan(0.1);
    expect(drift.value!).toBeLessThan(0.2);
    expect(states(mild)).toMatchObject({ ModelDriftWarning: 'firing', ModelDriftDetected: 'ok', ModelDriftCritical: 'ok' });
  });

  it('says no_data, never ok or firing, on too few observations', () => {
    expect(
      new Set(evaluateAlertRules(DEFAULT_ALERT_RULES, production({ count: 20, latencyMs: 5000, wrongEvery: 2, shift: 80 }), production(), PROFILE).map(({ state }) => state)),
    ).toEqual(new Set(['no_data']));
    expect(states(evaluateAlertRules(DEFAULT_ALERT_RULES, production(), null, null))).toMatchObject({
      ModelAccuracyDrop: 'no_data',
      ModelDriftDetected: 'no_data',
      ModelLatencyHigh: 'ok',
    });
  });

  it('takes rules of a policy’s own, relative to the baseline', () => {
    const [rule] = evaluateAlertRules(
      [{ name: 'ErrorsUp', metric: 'error_rate', comparison: 'above', threshold: 1.5, relativeToBaseline: true, severity: 'critical', rollback: true }],
      foldObservations(
        emptyAggregate(),
        Array.from({ length: 1000 }, (_, i) => ({ latencyMs: 10, error: i % 25 === 0 })),
      ),
      production(),
      PROFILE,
    );
    expect(rule).toMatchObject({ rule: 'ErrorsUp', state: 'firing', value: 0.04, threshold: 0.015, rollback: true });
  });
});
