import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardFixtures, type ModelFixture } from './fixtures/onnx-models';
import { endlessLoopModel, memoryHogModel } from './fixtures/sandbox-models';
import { ApiClient } from './support/api-client';
import { checkResult, registerVersion } from './support/model-registration';
import { SERVER_ENTRY, freePort, startServerProcess, waitForHealth, type ServerProcess } from './support/server-process';
import { until } from './support/wait';

/** The registration checks up to the smoke run, where the sandbox fixtures do their damage, under small limits. */
const POLICY = {
  settings: { timeoutSeconds: 4, memoryLimitMiB: 1024 },
  stages: {
    registered: { checks: { files_intact: {}, artifact_scan: {}, onnx_parses: {}, model_loads: {}, smoke_run: {} } },
    // Long enough to be still running when the registry shuts down.
    staging: { extends: 'registered', settings: { timeoutSeconds: 600 } },
  },
};

/**
 * The built registry, as `npm start` runs it, gating models that attack the
 * process running them: each run ends failed with a `sandbox` result while
 * the API keeps answering, and the worker goes on to the next run.
 */
describe('gate runs in the sandbox (npm start)', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  let url: string;
  let admin: ApiClient;

  beforeAll(async () => {
    if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run "npm run build" first (npm test does)`);
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-sandbox-'));
    const policyFile = join(dataDir, 'gates.json');
    await writeFile(policyFile, JSON.stringify(POLICY));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const token = `gh_test_${randomBytes(24).toString('hex')}`;
    server = startServerProcess({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      GATEHOUSE_ADMIN_TOKEN: token,
      GATE_POLICY: policyFile,
      GATE_POLL_MS: '100',
      LOG_FORMAT: 'text',
    });
    await waitForHealth(url, server);
    admin = new ApiClient(url, token);
  });
  afterAll(async () => {
    server?.process.kill('SIGTERM');
    await server?.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  const register = (model: string, fixture: ModelFixture) =>
    registerVersion(admin, { model, version: '1.0.0', task: 'classification', files: { 'model.onnx': fixture.bytes }, schema: fixture.schema });

  /** Polls /health and the version's gate until the gate finishes; every health answer, and the gate statuses seen meanwhile. */
  async function watch(model: string): Promise<{ healthStatuses: number[]; gateStatuses: string[]; run: any }> {
    const healthStatuses: number[] = [];
    const gateStatuses: string[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      healthStatuses.push((await admin.get('/health')).status);
      const gate = (await admin.get(`/v1/models/${model}/versions/1.0.0`)).body.gate;
      gateStatuses.push(gate?.status);
      if (['passed', 'failed', 'error'].includes(gate?.status)) return { healthStatuses, gateStatuses, run: (await admin.get(`/v1/gate-runs/${gate.runId}`)).body };
      if (Date.now() > deadline) throw new Error(`the gate on ${model} did not finish: ${JSON.stringify(gate)}\n${server!.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('kills a run that outlasts its timeout and fails it, answering /health all along', async () => {
    expect((await register('forever', endlessLoopModel())).status).toBe(200);
    const { healthStatuses, gateStatuses, run } = await watch('forever');

    expect(gateStatuses).toContain('running');
    expect(new Set(healthStatuses)).toEqual(new Set([200]));
    expect(run).toMatchObject({ status: 'failed', attempts: 1, failedChecks: ['sandbox'] });
    expect(run.report.results.map((result: { id: string }) => result.id)).toEqual(['files_intact', 'artifact_scan', 'onnx_parses', 'model_loads', 'sandbox']);
    expect(checkResult(run, 'sandbox')).toMatchObject({
      status: 'failed',
      severity: 'critical',
      value: 'timeout',
      message: 'the gate run was still going after its 4 s limit (settings.timeoutSeconds) while `smoke_run` ran, so the sandbox stopped it',
      recommendation: expect.stringContaining('settings.timeoutSeconds'),
    });
    expect(run.report.resources.sandbox).toMatchObject({ limits: { timeoutSeconds: 4, memoryLimitMiB: 1024 }, recommendedContainer: expect.any(String) });
    expect((await admin.get('/v1/models/forever/versions/1.0.0')).body.status).toBe('rejected');
    const markdown = (await admin.get(`/v1/gate-runs/${run.id}/report.md`)).body.toString();
    expect(markdown).toContain('the gate run was still going after its 4 s limit');
    expect(markdown).toContain('Serving estimate');
    const audit = await admin.get('/v1/audit?subject=version:forever@1.0.0&action=gate.failed');
    expect(audit.body.items[0].payload).toMatchObject({ gateRunId: run.id, failedChecks: ['sandbox'] });
  });

  it('fails a model that asks for more memory than the limit, then gates the next version as usual', async () => {
    expect((await register('hog', memoryHogModel())).status).toBe(200);
    const { healthStatuses, run } = await watch('hog');
    expect(new Set(healthStatuses)).toEqual(new Set([200]));
    expect(run).toMatchObject({ status: 'failed', attempts: 1 });
    expect(run.failedChecks).toEqual(['smoke_run', 'sandbox']);
    expect(checkResult(run, 'sandbox')).toMatchObject({ value: 'allocation failed', threshold: '1024 MiB', details: { ending: 'allocation', check: 'smoke_run' } });

    expect((await register('fine', standardFixtures().classifier.model)).status).toBe(200);
    const fine = await watch('fine');
    expect(fine.run).toMatchObject({ status: 'passed', failedChecks: [] });
    expect(fine.run.report.results.find((result: { id: string }) => result.id === 'sandbox')).toBeUndefined();
    expect(server!.process.exitCode).toBeNull();
  });

  it('kills a running sandbox when the registry shuts down, recording nothing', async () => {
    const queued = await admin.post('/v1/models/forever/versions/1.0.0/gate-runs', { stage: 'staging' });
    expect(queued.status).toBe(202);
    await until(async () => ((await admin.get(`/v1/gate-runs/${queued.body.id}`)).body.status === 'running' ? true : undefined));
    const sandboxes = await until(async () => {
      const found = await sandboxesOf(server!.process.pid!);
      return found.length > 0 ? found : undefined;
    });

    const stopping = server!;
    server = undefined;
    stopping.process.kill('SIGTERM');
    expect(await stopping.exited).toBe('SIGTERM');
    for (const pid of sandboxes) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(stopping.output()).toMatch(/stopped: the registry is shutting down; its sandbox was killed and nothing is recorded/);
  });
});

/** The gate sandboxes a process started: its children named by the sandbox's process title. */
async function sandboxesOf(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (name === 'gatehouse-gate' && ppid === parent) pids.push(Number(entry));
  }
  return pids;
}
