import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GATE_POLICY_FILE } from '@gatehouse/config';
import { standardFixtures } from './fixtures/onnx-models';
import { ApiClient } from './support/api-client';
import { finishedGate, registerVersion } from './support/model-registration';
import { createTestDatabase, type TestDatabase } from './support/postgres';
import { SERVER_ENTRY, freePort, startServerProcess, waitForHealth, type ServerProcess } from './support/server-process';
import { until } from './support/wait';

/**
 * A gate run outlives the process running it: the server is killed with
 * SIGKILL mid-run, and the restarted one claims the run again once the
 * dead worker's lease lapses, and finishes it.
 */
describe('gate runs across a crash', () => {
  let database: TestDatabase | undefined;
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run "npm run build" first (npm test does)`);
    // Postgres, not PGlite: a SIGKILLed server's embedded database child would still be closing its files when the next one opens them.
    database = await createTestDatabase();
    if (!database) throw new Error('this test needs Postgres (TEST_DATABASE_URL or 127.0.0.1:5432)');
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-recovery-'));
  });
  afterAll(async () => {
    server?.process.kill('SIGKILL');
    await server?.exited;
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finishes a run whose server was killed during it, after a restart', async () => {
    // Only the latency check, with enough runs to take a few seconds: long enough to be killed in the middle.
    const policy = JSON.parse(await readFile(DEFAULT_GATE_POLICY_FILE, 'utf8'));
    policy.stages = { registered: { checks: { files_intact: {}, model_loads: {}, latency: { thresholds: { runs: 150_000, warmupRuns: 10 } } } } };
    const policyFile = join(dataDir, 'gates.json');
    await writeFile(policyFile, JSON.stringify(policy));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const token = `gh_test_${randomBytes(24).toString('hex')}`;
    const env = {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: database!.url,
      GATEHOUSE_ADMIN_TOKEN: token,
      GATE_POLICY: policyFile,
      GATE_LEASE_SECONDS: '2',
      GATE_POLL_MS: '100',
      LOG_FORMAT: 'text',
    };
    const admin = new ApiClient(url, token);

    server = startServerProcess(env);
    await waitForHealth(url, server);
    const fixture = standardFixtures().classifier.model;
    expect((await registerVersion(admin, { model: 'survivor', version: '1.0.0', task: 'classification', files: { 'model.onnx': fixture.bytes } })).status).toBe(200);
    const runId = await until(async () => {
      const gate = (await admin.get('/v1/models/survivor/versions/1.0.0')).body.gate;
      return gate?.status === 'running' ? gate.runId : undefined;
    });
    server.process.kill('SIGKILL');
    await server.exited;

    server = startServerProcess(env);
    await waitForHealth(url, server);
    const run = await finishedGate(admin, 'survivor', '1.0.0', 120_000);
    expect(run).toMatchObject({ id: runId, status: 'passed', attempts: 2 });
    expect((await admin.get('/v1/models/survivor/versions/1.0.0')).body.status).toBe('validated');
    const finished = await admin.get('/v1/audit?subject=version:survivor@1.0.0&action=gate.passed');
    expect(finished.body.items).toHaveLength(1);
    expect(finished.body.items[0].payload).toMatchObject({ gateRunId: runId, attempts: 2 });
    expect((await admin.get('/v1/audit/verify')).body.ok).toBe(true);
    server.process.kill('SIGTERM');
    await server.exited;
    server = undefined;
  });
});
