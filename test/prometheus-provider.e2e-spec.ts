import type { ApiClient } from './support/api-client';
import { canaryAgainstProduction, startMonitoredRegistry, type MonitoredRegistry } from './support/canary-flow';
import { startPrometheus, type PrometheusServer } from './support/prometheus-server';
import type { TestRegistry } from './support/registry';
import { ServingFleet, ServingMetrics, type VersionBehaviour } from './support/serving-fleet';
import { until } from './support/wait';

const BASELINE: VersionBehaviour = { medianLatencyMs: 20, errorRate: 0.05 };

/**
 * Canary analysis reading a real Prometheus that scrapes a simulated serving
 * fleet every second, through the default queries: six-second intervals give
 * increase() five or six scrapes to work with.
 */
describe('canary analysis on metrics from Prometheus', () => {
  let metrics: ServingMetrics;
  let prometheus: PrometheusServer;
  let registry: TestRegistry;
  let engineer: ApiClient;
  let resolver: ApiClient;
  let releaseKey: MonitoredRegistry['releaseKey'];
  let monitored: MonitoredRegistry;

  beforeAll(async () => {
    metrics = new ServingMetrics();
    prometheus = await startPrometheus([await metrics.listen()]);
    monitored = await startMonitoredRegistry('embedded', {
      analysis: { steps: [10, 50], bakeSeconds: 6, intervalSeconds: 6, failureLimit: 2, inconclusiveLimit: 2, criteria: { minSamples: 30 } },
      provider: { kind: 'prometheus', address: prometheus.address, timeoutMs: 2000 },
    });
    ({ registry, engineer, reporter: resolver, releaseKey } = monitored);
  });

  afterAll(async () => {
    await monitored?.close();
    await prometheus?.stop();
    await metrics?.close();
  });

  /** A fleet that resolves its keys through the registry and reports only to Prometheus. */
  const fleetFor = (model: string, canary: VersionBehaviour) =>
    new ServingFleet(resolver, { model, keys: 40, requestsPerKey: 5, tickMs: 100, seed: 11, metrics, behaviour: (version) => (version === '2.0.0' ? canary : BASELINE) });

  const settledRun = (id: string, statuses: string[]) =>
    until(
      async () => {
        const run = (await engineer.get(`/v1/analysis-runs/${id}`)).body;
        return statuses.includes(run.status) ? run : undefined;
      },
      120_000,
      200,
    );

  /**
   * The run's intervals as [verdict, action], less a first one that ended before Prometheus had two scrapes of the
   * fleet's new series (increase() needs two): too little to judge is inconclusive, never a pass or a failure.
   */
  function judgedAfterFirstScrapes(run: any): [string, string][] {
    const judged: [string, string][] = run.judged.map((interval: any) => [interval.verdict, interval.action]);
    return judged[0]?.[0] === 'inconclusive' && run.judged[0].problem === null ? judged.slice(1) : judged;
  }

  it('walks a good canary through its steps to passed on what Prometheus scraped', async () => {
    const started = await canaryAgainstProduction(engineer, releaseKey, 'scraped');
    const fleet = fleetFor('scraped', BASELINE);
    fleet.start();
    try {
      const passed = await settledRun(started.id, ['passed', 'rolled_back', 'paused']);
      expect(passed.status).toBe('passed');
      expect(judgedAfterFirstScrapes(passed)).toEqual([
        ['pass', 'next_step'],
        ['pass', 'passed'],
      ]);
      const latency = passed.judged.at(-1).metrics.find((metric: any) => metric.metric === 'latency');
      expect(latency).toMatchObject({ verdict: 'pass' });
      // The counts are Prometheus', rounded from increase(): a 50% canary served hundreds of requests in six seconds.
      expect(latency.samples.canary).toBeGreaterThanOrEqual(100);
      expect(passed.judged.every((interval: any) => interval.problem === null)).toBe(true);
    } finally {
      await fleet.stop();
    }
    expect(fleet.served.get('2.0.0')).toBeGreaterThan(0);
  });

  it('rolls back a canary 30% slower, as gatehouse', async () => {
    const started = await canaryAgainstProduction(engineer, releaseKey, 'slow-scraped');
    const fleet = fleetFor('slow-scraped', { medianLatencyMs: 26, errorRate: 0.05 });
    fleet.start();
    try {
      const ended = await settledRun(started.id, ['passed', 'rolled_back', 'paused']);
      expect(ended.status).toBe('rolled_back');
      expect(ended.failures).toBe(2);
      expect(judgedAfterFirstScrapes(ended)).toEqual([
        ['fail', 'none'],
        ['fail', 'rollback'],
      ]);
      const latency = ended.judged.at(-1).metrics.find((metric: any) => metric.metric === 'latency');
      expect(latency).toMatchObject({ verdict: 'fail', reason: 'slower' });
      expect(latency.effect).toBeGreaterThan(1.2);
    } finally {
      await fleet.stop();
    }
    const stages = (await engineer.get('/v1/models/slow-scraped/stages')).body.stages;
    expect(stages.canary).toBeNull();
    expect(stages.production.version).toBe('1.0.0');
    const audit = (await registry.admin.get(`/v1/audit?subject=${encodeURIComponent('version:slow-scraped@2.0.0')}`)).body.items as { action: string; actor: string }[];
    expect(audit.find((event) => event.action === 'stage.canary_aborted')).toMatchObject({ actor: 'gatehouse' });
  });

  it('with Prometheus stopped, finds every interval inconclusive, names why, and pauses', async () => {
    await prometheus.stop();
    const started = await canaryAgainstProduction(engineer, releaseKey, 'unscraped');
    const fleet = fleetFor('unscraped', BASELINE);
    fleet.start();
    try {
      const paused = await settledRun(started.id, ['paused', 'passed', 'rolled_back']);
      expect(paused).toMatchObject({ status: 'paused', inconclusives: 2 });
      expect(paused.judged.map((interval: any) => interval.verdict)).toEqual(['inconclusive', 'inconclusive']);
      for (const interval of paused.judged) {
        expect(interval.problem).toContain(`Prometheus at ${prometheus.address}, query `);
        expect(interval.problem).toContain('could not be reached');
      }
    } finally {
      await fleet.stop();
    }
  });
});
