import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import { finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, startReplica, type TestRegistry } from './support/registry';
import { until } from './support/wait';

/** An unreachable object store is infrastructure: the run is retried, not failed, and passes once S3 answers again. */
describe('gate runs across an S3 outage (postgres+s3)', () => {
  let primary: TestRegistry;
  let worker: TestRegistry | undefined;

  beforeAll(async () => {
    // The primary only registers. The replica is the one gate worker; it needs S3 to start, and polls
    // slowly so the outage can begin between the commit and its first attempt.
    primary = await startRegistry('postgres+s3');
    worker = await startReplica(primary, { GATE_WORKERS: '1', GATE_POLL_MS: '5000', GATE_MAX_ATTEMPTS: '3' });
  });
  afterAll(async () => {
    await worker?.close();
    await primary?.close();
  });

  it('retries a run whose artifact could not be fetched, then finishes it once', async () => {
    const { classifier } = standardFixtures();
    const committed = await registerVersion(primary.admin, {
      model: 'outage',
      version: '1.0.0',
      task: 'classification',
      files: { 'model.onnx': classifier.model.bytes },
      schema: classifier.model.schema,
      datasets: [{ role: 'evaluation', name: 'outage-eval', content: jsonLines(classifier.evaluation) }],
    });
    expect(committed.status).toBe(200);
    const runId = (await primary.admin.get('/v1/models/outage/versions/1.0.0')).body.gate.runId;

    await primary.s3!.pause();
    expect((await primary.admin.get(`/v1/gate-runs/${runId}`)).body.attempts).toBe(0);
    const requeued = await until(async () => {
      const run = (await primary.admin.get(`/v1/gate-runs/${runId}`)).body;
      return run.status === 'queued' && run.attempts === 1 ? run : undefined;
    });
    expect(requeued.lastError).toMatchObject({ code: 'infrastructure_error', attempt: 1 });
    expect((await primary.admin.get('/v1/models/outage/versions/1.0.0')).body.gate).toMatchObject({ runId, status: 'queued' });

    await primary.s3!.resume();
    const run = await finishedGate(primary.admin, 'outage', '1.0.0');
    expect(run).toMatchObject({ id: runId, status: 'passed', attempts: 2 });
    expect((await primary.admin.get('/v1/models/outage/versions/1.0.0')).body.status).toBe('validated');
    const outcomes = await primary.admin.get('/v1/audit?subject=version:outage@1.0.0&limit=100');
    expect(outcomes.body.items.map((event: { action: string }) => event.action).filter((action: string) => action.startsWith('gate.'))).toEqual(['gate.passed', 'gate.queued']);
    expect((await primary.admin.get('/v1/audit/verify')).body.ok).toBe(true);
  });
});
