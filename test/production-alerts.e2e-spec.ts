import type { ApiClient } from './support/api-client';
import { registerValidated, startMonitoredRegistry, type MonitoredRegistry } from './support/canary-flow';
import { promoteAndSettle } from './support/promotion-flow';
import { promtoolCheck, sampleValue, samplesOf } from './support/prometheus';
import type { TestRegistry } from './support/registry';
import { ServingFleet, type VersionBehaviour } from './support/serving-fleet';
import { until } from './support/wait';

const FAST: VersionBehaviour = { medianLatencyMs: 10, errorRate: 0.01 };
const SLOW: VersionBehaviour = { medianLatencyMs: 60, errorRate: 0.01 };
const FAILING: VersionBehaviour = { medianLatencyMs: 10, errorRate: 0.5 };

/**
 * Alert rules evaluated every two seconds on one-second windows. Each model
 * gets the rules its case needs: ModelLatencyHigh at 30 ms alone (raised and
 * resolved), or rolling back gradually over six seconds, or a critical
 * error-rate rule rolling back at once.
 */
const MONITORING_POLICY = {
  analysis: { enabled: false },
  alerts: { intervalSeconds: 2, rules: { ModelLatencyHigh: { threshold: 30 } } },
  models: {
    gradual: { alerts: { gradualRollbackSeconds: 6, rules: { ModelLatencyHigh: { threshold: 30, rollback: true } } } },
    critical: { alerts: { rules: { ModelErrorsCritical: { metric: 'error_rate', comparison: 'above', threshold: 0.2, severity: 'critical', rollback: true } } } },
  },
};

describe('production alerts (embedded)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let reporter: ApiClient;
  let releaseKey: MonitoredRegistry['releaseKey'];
  let monitored: MonitoredRegistry;

  beforeAll(async () => {
    monitored = await startMonitoredRegistry('embedded', MONITORING_POLICY);
    ({ registry, engineer, reporter, releaseKey } = monitored);
  });

  afterAll(() => monitored?.close());

  /** model@1.0.0 served production before model@2.0.0, which serves it now. */
  async function inProduction(model: string, versions = ['1.0.0', '2.0.0']): Promise<void> {
    for (const version of versions) {
      await registerValidated(engineer, releaseKey, model, version);
      expect((await promoteAndSettle(engineer, [], { model, version }, 'production')).status).toBe('completed');
    }
  }

  const alertsOf = async (model: string) => (await engineer.get(`/v1/alerts?model=${model}`)).body.items as any[];
  const audited = async (model: string, version: string) =>
    (
      (await registry.admin.get(`/v1/audit?subject=${encodeURIComponent(`version:${model}@${version}`)}`)).body.items as { action: string; actor: string; payload: any }[]
    ).reverse();

  it('raises an alert once, updates it while it lasts, and resolves it when it clears', async () => {
    await inProduction('watched', ['1.0.0']);
    let behaviour = SLOW;
    const fleet = new ServingFleet(reporter, { model: 'watched', keys: 20, requestsPerKey: 5, tickMs: 100, seed: 3, behaviour: () => behaviour });
    fleet.start();
    try {
      const raised = await until(async () => (await alertsOf('watched')).find((alert) => alert.rule === 'ModelLatencyHigh' && alert.evaluations >= 2), 60_000);
      expect(raised).toMatchObject({ version: '1.0.0', metric: 'latency_p95', severity: 'warning', state: 'firing', threshold: 30, rollback: null });
      expect(raised.value).toBeGreaterThan(30);

      // The same, as /metrics exposes it: what serves, how it does, and what fires.
      const scraped = await registry.admin.get('/metrics');
      const exposition = (scraped.body as Buffer).toString('utf8');
      expect(promtoolCheck(exposition)).toEqual({ parsed: true, problems: [] });
      const samples = samplesOf(exposition);
      const serving = { model: 'watched', version: '1.0.0', stage: 'production' };
      expect(sampleValue(samples, 'gatehouse_alerts_firing', { model: 'watched', version: '1.0.0', severity: 'warning' })).toBe(1);
      expect(sampleValue(samples, 'gatehouse_model_latency_p95_seconds', serving)).toBeGreaterThan(0.03);
      expect(sampleValue(samples, 'gatehouse_model_requests', serving)).toBeGreaterThan(0);
      expect(sampleValue(samples, 'gatehouse_model_error_rate', serving)).toBeLessThan(0.2);

      behaviour = FAST;
      const resolved = await until(async () => (await alertsOf('watched')).find((alert) => alert.id === raised.id && alert.state === 'resolved'), 60_000);
      expect(resolved.value).toBeLessThan(30);
    } finally {
      await fleet.stop();
    }
    const alerts = await alertsOf('watched');
    expect(alerts.filter((alert) => alert.rule === 'ModelLatencyHigh')).toHaveLength(1);
    const actions = (await audited('watched', '1.0.0')).map((event) => event.action);
    expect(actions.filter((action) => action === 'alert.raised')).toHaveLength(1);
    expect(actions.filter((action) => action === 'alert.resolved')).toHaveLength(1);
    expect((await engineer.get('/v1/models/watched/stages')).body.stages.production.version).toBe('1.0.0');
    expect((await engineer.get(`/v1/alerts/${alerts[0].id}`)).body).toEqual(alerts[0]);
    expect((await engineer.get('/v1/alerts/not-an-alert')).status).toBe(404);
  });

  it('rolls a warning back gradually: the previous version takes the traffic back through the canary pointer, then production', async () => {
    await inProduction('gradual');
    const fleet = new ServingFleet(reporter, { model: 'gradual', keys: 20, requestsPerKey: 5, tickMs: 100, seed: 5, behaviour: (version) => (version === '2.0.0' ? SLOW : FAST) });
    fleet.start();
    try {
      const shifting = await until(async () => {
        const stages = (await engineer.get('/v1/models/gradual/stages')).body.stages;
        return stages.canary?.version === '1.0.0' ? stages : undefined;
      }, 60_000);
      expect(shifting.production.version).toBe('2.0.0');
      const restored = await until(async () => {
        const stages = (await engineer.get('/v1/models/gradual/stages')).body.stages;
        return stages.production.version === '1.0.0' ? stages : undefined;
      }, 60_000);
      expect(restored.canary).toBeNull();
    } finally {
      await fleet.stop();
    }
    expect((await engineer.get('/v1/models/gradual/versions/2.0.0')).body.stage).toBe('rolled_back');
    const [alert] = await alertsOf('gradual');
    expect(alert).toMatchObject({ version: '2.0.0', rule: 'ModelLatencyHigh', state: 'resolved', rollback: { kind: 'gradual', to: '1.0.0', seconds: 6 } });
    const events = await audited('gradual', '2.0.0');
    expect(events.map((event) => event.action)).toEqual(
      expect.arrayContaining(['alert.raised', 'alert.rollback_started', 'stage.rolled_back', 'alert.rollback_completed', 'alert.resolved']),
    );
    expect(events.find((event) => event.action === 'stage.rolled_back')).toMatchObject({ actor: 'gatehouse', payload: { restored: '1.0.0', evidence: { alertId: alert.id } } });
    // The canary pointer carried traffic back in steps: the fleet saw 1.0.0 serve before it was production again.
    expect(fleet.served.get('1.0.0')).toBeGreaterThan(0);
  });

  it('rolls a critical alert back at once', async () => {
    await inProduction('critical');
    const fleet = new ServingFleet(reporter, {
      model: 'critical',
      keys: 20,
      requestsPerKey: 5,
      tickMs: 100,
      seed: 9,
      behaviour: (version) => (version === '2.0.0' ? FAILING : FAST),
    });
    fleet.start();
    try {
      await until(async () => ((await engineer.get('/v1/models/critical/stages')).body.stages.production.version === '1.0.0' ? true : undefined), 60_000);
    } finally {
      await fleet.stop();
    }
    const [alert] = await alertsOf('critical');
    expect(alert).toMatchObject({ version: '2.0.0', rule: 'ModelErrorsCritical', severity: 'critical', rollback: { kind: 'immediate', restored: '1.0.0' } });
    const events = (await audited('critical', '2.0.0')).map((event) => event.action);
    expect(events).toEqual(expect.arrayContaining(['alert.raised', 'stage.rolled_back']));
    expect(events).not.toContain('alert.rollback_started');
  });
});
