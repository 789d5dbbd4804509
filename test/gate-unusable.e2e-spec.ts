import { standardFixtures } from './fixtures/onnx-models';
import { checkResult, finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';

/**
 * A version whose files cannot be laid out for the gate fails on its first
 * attempt, with a result naming why, instead of retrying into an error.
 * Uploads now refuse such paths, so the path is set in the database, as a
 * version stored before those rules would have it.
 */
describe('a gate no retry can fix (embedded)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_MAX_ATTEMPTS: '3', GATE_POLL_MS: '50' });
  });
  afterAll(() => registry?.close());

  it('fails a version with a path segment over 255 bytes at once, and rejects it', async () => {
    const { classifier } = standardFixtures();
    const committed = await registerVersion(registry.admin, {
      model: 'unlaid',
      version: '1.0.0',
      task: 'classification',
      files: { 'model.onnx': classifier.model.bytes, 'notes.txt': Buffer.from('hello') },
      schema: classifier.model.schema,
    });
    expect(committed.status).toBe(200);
    await registry.sql(`UPDATE version_files SET path = $1 WHERE path = 'notes.txt'`, [`${'n'.repeat(300)}.txt`]);

    Object.assign(registry.config.gates, { workers: 1 });
    await registry.restart();
    const run = await finishedGate(registry.admin, 'unlaid', '1.0.0');
    expect(run).toMatchObject({ status: 'failed', attempts: 1, failedChecks: ['workspace'], lastError: { code: 'unmaterializable_path', attempt: 1 } });
    expect(checkResult(run, 'workspace')).toMatchObject({ status: 'failed', severity: 'critical', details: { errno: 'ENAMETOOLONG' } });
    expect(checkResult(run, 'workspace').message).toContain('could not lay out');
    expect(run.report.recommendations[0].recommendation).toMatch(/255 bytes/);
    expect((await registry.admin.get(`/v1/gate-runs/${run.id}/report.md`)).body.toString()).toContain('workspace');

    const version = (await registry.admin.get('/v1/models/unlaid/versions/1.0.0')).body;
    expect(version.status).toBe('rejected');
    // What was never read is not clean.
    expect(version.security).toMatchObject({ status: 'flagged', gateRunId: run.id });
    expect(version.security.message).toContain('the scan could not run');
  });
});
