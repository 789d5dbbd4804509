import { standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { canaryAgainstProduction, registerValidated, startMonitoredRegistry, type MonitoredRegistry } from './support/canary-flow';
import { promoteAndSettle } from './support/promotion-flow';
import { startReplica, type Backend, type TestRegistry } from './support/registry';
import { ServingFleet, type VersionBehaviour } from './support/serving-fleet';
import { until } from './support/wait';

/** What the canary's reference profile was binned from (canaryAgainstProduction registers the classifier's evaluation set): production's inputs, unmoved. */
const EVALUATION_INPUTS = { name: 'features', rows: standardFixtures().classifier.evaluation.map((example) => example.inputs.features as number[]), shift: 0 };
const BASELINE: VersionBehaviour = { medianLatencyMs: 20, errorRate: 0.05, inputs: EVALUATION_INPUTS };

/** Two steps of one two-second interval each, judged on one-second telemetry windows: an analysis takes seconds, not minutes. */
const MONITORING_POLICY = {
  analysis: { steps: [10, 50], bakeSeconds: 2, intervalSeconds: 2, failureLimit: 2, inconclusiveLimit: 2, criteria: { minSamples: 30 } },
  // A model whose traffic can never be enough: every interval is inconclusive.
  models: {
    thin: { analysis: { criteria: { minSamples: 1_000_000 } } },
    // Restarted mid-analysis: the intervals while its fleet is down are inconclusive, and must not pause it.
    resilient: { analysis: { inconclusiveLimit: 20 } },
  },
};

describe.each<Backend>(['embedded', 'postgres+s3'])('canary analysis (%s)', (backend) => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let reporter: ApiClient;
  let releaseKey: MonitoredRegistry['releaseKey'];
  let monitored: MonitoredRegistry;

  beforeAll(async () => {
    monitored = await startMonitoredRegistry(backend, MONITORING_POLICY);
    ({ registry, engineer, reporter, releaseKey } = monitored);
  });

  afterAll(() => monitored?.close());

  const fleetFor = (model: string, canary: VersionBehaviour) =>
    new ServingFleet(reporter, { model, keys: 40, requestsPerKey: 8, tickMs: 100, seed: 7, behaviour: (version) => (version === '2.0.0' ? canary : BASELINE) });

  const settledRun = (id: string, statuses: string[]) =>
    until(async () => {
      const run = (await engineer.get(`/v1/analysis-runs/${id}`)).body;
      return statuses.includes(run.status) ? run : undefined;
    }, 60_000);

  const auditActions = async (model: string) =>
    ((await registry.admin.get(`/v1/audit?subject=${encodeURIComponent(`version:${model}@2.0.0`)}`)).body.items as { action: string; actor: string; payload: any }[]).reverse();

  it('walks a good canary through every traffic step to passed, moving its traffic itself', async () => {
    const started = await canaryAgainstProduction(engineer, releaseKey, 'steady');
    expect(started).toMatchObject({ version: '2.0.0', baselineVersion: '1.0.0', status: 'running', steps: [10, 50], trafficPercent: 10 });
    expect((await engineer.get('/v1/models/steady/stages')).body.stages.canary).toMatchObject({ version: '2.0.0', trafficPercent: 10 });

    const fleet = fleetFor('steady', BASELINE);
    fleet.start();
    try {
      const passed = await settledRun(started.id, ['passed', 'rolled_back', 'paused']);
      expect(passed.status).toBe('passed');
      expect(passed.judged.map((interval: any) => [interval.trafficPercent, interval.verdict, interval.action])).toEqual([
        [10, 'pass', 'next_step'],
        [50, 'pass', 'passed'],
      ]);
      const latency = passed.judged[0].metrics.find((metric: any) => metric.metric === 'latency');
      expect(latency).toMatchObject({ verdict: 'pass', threshold: 1.1 });
      expect(latency.samples.canary).toBeGreaterThanOrEqual(30);
      expect((await engineer.get('/v1/models/steady/stages')).body.stages.canary).toMatchObject({ version: '2.0.0', trafficPercent: 50 });
    } finally {
      await fleet.stop();
    }
    // The fleet followed the steps: the canary served its share of the keys.
    expect(fleet.served.get('2.0.0')).toBeGreaterThan(0);
    expect((await auditActions('steady')).map((event) => event.action)).toEqual(expect.arrayContaining(['analysis.started', 'analysis.step_passed', 'analysis.passed']));

    // The production gate reads the passed analysis.
    const promoted = await promoteAndSettle(engineer, [], { model: 'steady', version: '2.0.0' }, 'production');
    expect(promoted.status).toBe('completed');
    const report = (await engineer.get(`/v1/gate-runs/${promoted.gateRunId}`)).body.report;
    expect(report.results.find((result: any) => result.id === 'canary_analysis')).toMatchObject({
      status: 'passed',
      message: `canary analysis ${started.id} passed against steady@1.0.0 over 2 intervals`,
    });
  });

  it.each<[string, string, VersionBehaviour, string]>([
    ['30% slower', 'sluggish', { medianLatencyMs: 26, errorRate: 0.05 }, 'slower'],
    ['failing twice as often', 'flaky', { medianLatencyMs: 20, errorRate: 0.1 }, 'more_errors'],
    ['whose inputs drift from its training data', 'drifting', { ...BASELINE, inputs: { ...EVALUATION_INPUTS, shift: 2 } }, 'drifted'],
  ])('rolls back a canary %s, as gatehouse, with the evidence in the audit log', async (_, model, behaviour, reason) => {
    const started = await canaryAgainstProduction(engineer, releaseKey, model);
    const fleet = fleetFor(model, behaviour);
    fleet.start();
    try {
      const ended = await settledRun(started.id, ['passed', 'rolled_back', 'paused']);
      expect(ended.status).toBe('rolled_back');
      expect(ended.failures).toBe(2);
      // Within a few intervals: one of a few hundred canary requests may miss a real difference now and then.
      const failed = ended.judged.filter((interval: any) => interval.verdict === 'fail');
      expect(failed).toHaveLength(2);
      expect(ended.judged.length).toBeLessThanOrEqual(4);
      expect(ended.judged.at(-1).action).toBe('rollback');
      for (const interval of failed) expect(interval.metrics.find((metric: any) => metric.verdict === 'fail').reason).toBe(reason);
    } finally {
      await fleet.stop();
    }
    const stages = (await engineer.get(`/v1/models/${model}/stages`)).body.stages;
    expect(stages.canary).toBeNull();
    expect(stages.production.version).toBe('1.0.0');
    expect((await engineer.get(`/v1/models/${model}/versions/2.0.0`)).body.stage).toBe('rolled_back');
    const aborted = (await auditActions(model)).find((event) => event.action === 'stage.canary_aborted');
    expect(aborted).toMatchObject({ actor: 'gatehouse', payload: { evidence: { runId: started.id, verdict: 'fail' } } });
    expect(aborted!.payload.evidence.metrics.some((metric: any) => metric.reason === reason)).toBe(true);
  });

  it('analyses the canary again on request, against production now, one run at a time', async () => {
    const first = await canaryAgainstProduction(engineer, releaseKey, 'again');
    const busy = await engineer.post('/v1/models/again/analysis-runs', {});
    expect([busy.status, busy.body.error]).toEqual([409, 'analysis_cannot_start']);
    expect(busy.body.message).toBe(`cannot start a canary analysis of again: analysis ${first.id} of again@2.0.0 is running: resume or abort it`);
    const fleet = fleetFor('again', BASELINE);
    fleet.start();
    try {
      expect((await settledRun(first.id, ['passed', 'rolled_back', 'paused'])).status).toBe('passed');
      expect((await reporter.post('/v1/models/again/analysis-runs', {})).status).toBe(403);
      const again = await engineer.post('/v1/models/again/analysis-runs', {});
      expect(again.status).toBe(201);
      // From the step the canary is at: it serves half the keys already.
      expect(again.body).toMatchObject({ version: '2.0.0', baselineVersion: '1.0.0', status: 'running', steps: [50], trafficPercent: 50, startedBy: 'engineer' });
      expect((await engineer.get('/v1/models/again/stages')).body.stages.canary).toMatchObject({ version: '2.0.0', trafficPercent: 50 });
      expect((await settledRun(again.body.id, ['passed', 'rolled_back', 'paused'])).status).toBe('passed');
    } finally {
      await fleet.stop();
    }
    const listed = (await engineer.get('/v1/models/again/analysis-runs?version=2.0.0')).body.items;
    expect(listed.map((run: any) => run.status)).toEqual(['passed', 'passed']);
    expect((await engineer.get('/v1/models/again/analysis-runs?version=1.0.0')).body.items).toEqual([]);
    const nothing = await engineer.post('/v1/models/hasty-nothing/analysis-runs', {});
    expect(nothing.status).toBe(404);
  });

  it('refuses production to a version that was never analysed as a canary', async () => {
    for (const version of ['1.0.0', '2.0.0']) await registerValidated(engineer, releaseKey, 'hasty', version);
    expect((await promoteAndSettle(engineer, [], { model: 'hasty', version: '1.0.0' }, 'production')).status).toBe('completed');
    const refused = await promoteAndSettle(engineer, [], { model: 'hasty', version: '2.0.0' }, 'production');
    expect(refused.status).toBe('rejected');
    const report = (await engineer.get(`/v1/gate-runs/${refused.gateRunId}`)).body.report;
    expect(report.results.find((result: any) => result.id === 'canary_analysis')).toMatchObject({
      status: 'failed',
      value: 'none',
      message: 'hasty@2.0.0 has never been analysed as a canary, and production requires a passed canary analysis against hasty@1.0.0',
    });
    expect((await engineer.get('/v1/models/hasty/stages')).body.stages.production.version).toBe('1.0.0');
  });

  it('pauses a canary with too little traffic to judge, and lets a person resume or abort it', async () => {
    const started = await canaryAgainstProduction(engineer, releaseKey, 'thin');
    const fleet = fleetFor('thin', BASELINE);
    fleet.start();
    try {
      const paused = await settledRun(started.id, ['paused', 'passed', 'rolled_back']);
      expect(paused).toMatchObject({ status: 'paused', inconclusives: 2, nextIntervalAt: null });
      expect(paused.judged.map((interval: any) => interval.verdict)).toEqual(['inconclusive', 'inconclusive']);
      expect(paused.judged[0].metrics.find((metric: any) => metric.metric === 'latency').reason).toBe('no_data');
      expect((await reporter.post(`/v1/analysis-runs/${started.id}/resume`, {})).status).toBe(403);

      const resumed = await engineer.post(`/v1/analysis-runs/${started.id}/resume`, {});
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({ status: 'running', inconclusives: 0 });
      expect((await settledRun(started.id, ['paused'])).judged).toHaveLength(4);

      expect((await engineer.post(`/v1/analysis-runs/${started.id}/abort`, {})).status).toBe(400);
      const aborted = await engineer.post(`/v1/analysis-runs/${started.id}/abort`, { reason: 'not enough traffic to tell' });
      expect(aborted.status).toBe(200);
      expect(aborted.body.status).toBe('aborted');
      expect((await engineer.post(`/v1/analysis-runs/${started.id}/resume`, {})).status).toBe(409);
    } finally {
      await fleet.stop();
    }
    expect((await engineer.get('/v1/models/thin/stages')).body.stages.canary).toBeNull();
    expect((await engineer.get('/v1/analysis-runs/not-a-run')).status).toBe(404);
  });

  it('picks an analysis up where it was after a restart, and with two replicas judges each interval once', async () => {
    const started = await canaryAgainstProduction(engineer, releaseKey, 'resilient');
    let fleet = fleetFor('resilient', BASELINE);
    fleet.start();
    await until(async () => ((await engineer.get(`/v1/analysis-runs/${started.id}`)).body.intervals >= 1 ? true : undefined), 60_000);
    await fleet.stop();
    await registry.restart();
    // The restarted server listens on a new port.
    engineer = registry.admin.withToken(engineer.token!);
    reporter = registry.admin.withToken(reporter.token!);
    const replica = await startReplica(registry, monitored.env);
    fleet = fleetFor('resilient', BASELINE);
    fleet.start();
    try {
      const passed = await settledRun(started.id, ['passed', 'rolled_back', 'paused']);
      expect(passed.status).toBe('passed');
      // Intervals while the fleet was down are inconclusive; none is judged twice or skipped.
      expect(passed.judged.map((interval: any) => interval.number)).toEqual(passed.judged.map((_: unknown, index: number) => index + 1));
      expect(passed.judged.filter((interval: any) => interval.verdict === 'pass')).toHaveLength(2);
    } finally {
      await fleet.stop();
      await replica?.close();
    }
    const actions = (await auditActions('resilient')).map((event) => event.action);
    expect(actions.filter((action) => action === 'analysis.step_passed')).toHaveLength(1);
    expect(actions.filter((action) => action === 'analysis.passed')).toHaveLength(1);
  });
});
