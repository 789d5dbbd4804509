import { existsSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gadgetPickle } from './fixtures/hostile-corpus';
import { standardFixtures } from './fixtures/onnx-models';
import { PICKLE_SENTINEL, pickleBytes } from './fixtures/pickles';
import { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { checkResult, finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const { classifier } = standardFixtures();
const TRAIN_CONFIG = 'mylab.config.TrainConfig';

/** A training config pickled beside the weights, as a team's checkpoint carries it: the global it imports is on no list. */
const configPickle = () => gadgetPickle(TRAIN_CONFIG, 'STACK_GLOBAL, protocol 4');
/** The same import at protocol 2, GLOBAL opcode, no arguments. */
const configPickleV2 = () => pickleBytes([0x80, 0x02], 'cmylab.config\nTrainConfig\n', [0x29, 0x52, 0x2e]);

/** Per-model scan allowances through HTTP and the CLI: set by an admin with a reason, audited, used by the model's gates and re-scans only. */
describe('scan allowances (embedded)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let reader: ApiClient;
  let policyFile: string;

  const putAllowances = (client: ApiClient, model: string, body: unknown) =>
    client.put(`/v1/models/${model}/scan-allowances`, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json' });
  const register = async (model: string, version: string, files: Record<string, Uint8Array>) => {
    expect((await registerVersion(engineer, { model, version, task: 'classification', files, schema: classifier.model.schema })).status).toBe(200);
    return finishedGate(reader, model, version);
  };
  const regate = async (model: string, version: string) => {
    const queued = await engineer.post(`/v1/models/${model}/versions/${version}/gate-runs`, { stage: 'registered' });
    expect(queued.status).toBe(202);
    return until(async () => {
      const run = (await reader.get(`/v1/gate-runs/${queued.body.id}`)).body;
      return ['passed', 'failed', 'error'].includes(run.status) ? run : undefined;
    }, 60_000);
  };
  const changes = async (model: string) =>
    (await reader.get(`/v1/audit?subject=model:${model}&action=model.scan_allowances_changed&limit=100`)).body.items as { actor: string; payload: any }[];
  const scanAllowed = (run: any) => run.policy.checks.find((check: { id: string }) => check.id === 'artifact_scan').thresholds.allowedGlobals;
  const finished = (gateRunId: string) =>
    until(async () => {
      const run = (await reader.get(`/v1/gate-runs/${gateRunId}`)).body;
      return ['passed', 'failed', 'error'].includes(run.status) ? run : undefined;
    }, 60_000);

  beforeAll(async () => {
    rmSync(PICKLE_SENTINEL, { force: true });
    policyFile = join(tmpdir(), `gatehouse-allowances-${process.pid}-${Date.now()}.json`);
    await writeFile(policyFile, JSON.stringify({ stages: { registered: { checks: { files_intact: {}, artifact_scan: {} } }, staging: { checks: { files_intact: {} } } } }));
    registry = await startRegistry('embedded', { GATE_POLICY: policyFile, GATE_WORKERS: '1', GATE_POLL_MS: '50' });
    engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
    reader = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'auditor', roles: ['reader'] })).body.token);
  });
  afterAll(async () => {
    await registry?.close();
    await rm(policyFile, { force: true });
    expect(existsSync(PICKLE_SENTINEL)).toBe(false);
  });

  it('rejects a checkpoint whose pickle imports an unlisted global, for every model alike', async () => {
    for (const model of ['lab-model', 'other-model']) {
      const run = await register(model, '1.0.0', { 'model.onnx': classifier.model.bytes, 'config.pkl': configPickle() });
      expect(run).toMatchObject({ status: 'failed', failedChecks: ['artifact_scan'] });
      expect(checkResult(run, 'artifact_scan').details.findings).toEqual([
        expect.objectContaining({ severity: 'HIGH', rule: 'unlisted_global', module: 'mylab.config', name: 'TrainConfig' }),
      ]);
      expect((await reader.get(`/v1/models/${model}/versions/1.0.0`)).body.status).toBe('rejected');
    }
    expect((await reader.get('/v1/models/lab-model/scan-allowances')).body).toMatchObject({
      model: 'lab-model',
      allowedGlobals: [],
      allowedOnnxDomains: [],
      reason: null,
      changedBy: null,
    });
  });

  it('lets only an admin change them, and refuses bad input with a 400 that says what to do, leaving nothing changed', async () => {
    const valid = { allowedGlobals: [TRAIN_CONFIG], reason: 'our training config, reviewed' };
    const denied = await putAllowances(engineer, 'lab-model', valid);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('role_required');

    const dangerous = await putAllowances(registry.admin, 'lab-model', { allowedGlobals: [TRAIN_CONFIG, 'os.system'], reason: 'no' });
    expect(dangerous.status).toBe(400);
    expect(dangerous.body).toMatchObject({
      error: 'scan_allowance_refused',
      details: { fields: [{ field: 'allowedGlobals.1', errors: [expect.stringContaining('os.system cannot be allowed')] }] },
    });
    expect(dangerous.body.message).toContain('re-export the weights');

    const alias = await putAllowances(registry.admin, 'lab-model', { allowedGlobals: ['random._os.system'], reason: 'no' });
    expect(alias.status).toBe(400);
    expect(alias.body.details.fields[0].errors[0]).toContain('goes through _os');

    const malformed = await putAllowances(registry.admin, 'lab-model', { allowedGlobals: ['TrainConfig'], allowedOnnxDomains: ['com/evil'], reason: 'typo' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.details.fields.map((field: { field: string }) => field.field)).toEqual(['allowedGlobals.0', 'allowedOnnxDomains.0']);
    expect(malformed.body.message).toContain('write it as module.name (e.g. mylab.config.TrainConfig) or module.*');

    const nul = await putAllowances(registry.admin, 'lab-model', '{"allowedGlobals": ["mylab.config.TrainConfig"], "reason": "a\\u0000b"}');
    expect(nul.status).toBe(400);
    expect(nul.body.error).toBe('nul_character');

    const withoutReason = await putAllowances(registry.admin, 'lab-model', { allowedGlobals: [TRAIN_CONFIG], reason: '  ' });
    expect(withoutReason.status).toBe(400);
    expect(withoutReason.body).toMatchObject({ error: 'validation_failed', details: { fields: [{ field: 'reason' }] } });

    expect((await putAllowances(registry.admin, 'no-such-model', valid)).status).toBe(404);
    expect((await reader.get('/v1/models/no-such-model/scan-allowances')).status).toBe(404);

    expect((await reader.get('/v1/models/lab-model/scan-allowances')).body.allowedGlobals).toEqual([]);
    expect(await changes('lab-model')).toEqual([]);
  });

  it("audits a change with the old and new lists and the reason, and the model's gates then pass what it allows", async () => {
    const changed = await putAllowances(registry.admin, 'lab-model', {
      allowedGlobals: [TRAIN_CONFIG, TRAIN_CONFIG],
      allowedOnnxDomains: ['com.microsoft'],
      reason: 'TrainConfig is our own dataclass, reviewed in SEC-42',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      model: 'lab-model',
      allowedGlobals: [TRAIN_CONFIG],
      allowedOnnxDomains: ['com.microsoft'],
      reason: 'TrainConfig is our own dataclass, reviewed in SEC-42',
      changedBy: 'admin',
    });
    expect((await reader.get('/v1/models/lab-model/scan-allowances')).body).toEqual(changed.body);

    const [event] = await changes('lab-model');
    expect(event).toMatchObject({
      actor: 'admin',
      payload: {
        previous: { allowedGlobals: [], allowedOnnxDomains: [] },
        current: { allowedGlobals: [TRAIN_CONFIG], allowedOnnxDomains: ['com.microsoft'] },
        reason: 'TrainConfig is our own dataclass, reviewed in SEC-42',
      },
    });
    expect((await reader.get(changed.body.links.audit)).body.items).toHaveLength(1);

    const rerun = await regate('lab-model', '1.0.0');
    expect(rerun.status).toBe('passed');
    expect(scanAllowed(rerun)).toEqual([TRAIN_CONFIG]);
    expect((await reader.get('/v1/models/lab-model/versions/1.0.0')).body).toMatchObject({
      status: 'validated',
      security: { status: 'clean', policyDigest: checkResult(rerun, 'artifact_scan').details.policyDigest },
    });
    expect((await register('lab-model', '1.1.0', { 'model.onnx': classifier.model.bytes, 'config.pkl': configPickleV2() })).status).toBe('passed');

    // Another model is still refused.
    const other = await regate('other-model', '1.0.0');
    expect(other.status).toBe('failed');
    expect(scanAllowed(other)).toEqual([]);
  });

  it("re-scans the model's validated versions once after a change, and flags them when the allowance is revoked", async () => {
    const clean = await registry.admin.post('/v1/admin/rescan', {});
    expect(clean.body.queued).toEqual([]);

    // A narrower allowance the versions still need nothing beyond: their digest changes, so they are re-scanned, once.
    expect((await putAllowances(registry.admin, 'lab-model', { allowedGlobals: [TRAIN_CONFIG], reason: 'no custom operators after all' })).status).toBe(200);
    const narrowed = await registry.admin.post('/v1/admin/rescan', {});
    expect(narrowed.body.queued.map((entry: { model: string; version: string; reason: string }) => `${entry.model}@${entry.version}:${entry.reason}`).sort()).toEqual([
      'lab-model@1.0.0:policy_changed',
      'lab-model@1.1.0:policy_changed',
    ]);
    for (const entry of narrowed.body.queued) expect((await finished(entry.gateRunId)).status).toBe('passed');
    expect((await registry.admin.post('/v1/admin/rescan', {})).body.queued).toEqual([]);

    expect((await putAllowances(registry.admin, 'lab-model', { allowedGlobals: [], reason: 'SEC-43: TrainConfig gained a __reduce__, revoked' })).status).toBe(200);
    const revoked = await registry.admin.post('/v1/admin/rescan', {});
    expect(revoked.body.queued).toHaveLength(2);
    for (const entry of revoked.body.queued) expect((await finished(entry.gateRunId)).status).toBe('failed');
    for (const version of ['1.0.0', '1.1.0']) {
      expect((await reader.get(`/v1/models/lab-model/versions/${version}`)).body.security).toMatchObject({
        status: 'flagged',
        message: expect.stringContaining('mylab.config.TrainConfig'),
      });
    }
    expect((await registry.admin.post('/v1/admin/rescan', {})).body.queued).toEqual([]);
    expect((await changes('lab-model')).map((event) => event.payload.current.allowedGlobals)).toEqual([[], [TRAIN_CONFIG], [TRAIN_CONFIG]]);
    expect((await reader.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it("sets and shows them from the CLI, printing the API's error code for what it refuses", async () => {
    const gatehouse = (token: string, ...argv: string[]) => runCaptured(['--url', registry.url, '--token', token, ...argv], { HOME: tmpdir() }, tmpdir());
    const allowed = await gatehouse(
      registry.adminToken,
      'models',
      'allow',
      'lab-model',
      '--global',
      TRAIN_CONFIG,
      '--global',
      'pathlib.PosixPath',
      '--onnx-domain',
      'com.microsoft',
      '--reason',
      'SEC-44: fixed TrainConfig',
    );
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/globals:\s+mylab\.config\.TrainConfig, pathlib\.PosixPath/);
    expect(allowed.stdout).toContain('gatehouse admin rescan');

    const shown = await gatehouse(reader.token!, '--json', 'models', 'allowances', 'lab-model');
    expect(JSON.parse(shown.stdout)).toMatchObject({
      allowedGlobals: [TRAIN_CONFIG, 'pathlib.PosixPath'],
      allowedOnnxDomains: ['com.microsoft'],
      reason: 'SEC-44: fixed TrainConfig',
      changedBy: 'admin',
    });
    expect((await gatehouse(reader.token!, 'models', 'allowances', 'other-model')).stdout).toMatch(/globals:\s+none beyond the gate policy/);

    const refused = await gatehouse(registry.adminToken, 'models', 'allow', 'lab-model', '--global', 'subprocess.run', '--reason', 'no');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error scan_allowance_refused');
    expect(refused.stderr).toMatch(/allowedGlobals\.0: subprocess\.run cannot be allowed/);
    expect((await gatehouse(engineer.token!, 'models', 'allow', 'lab-model', '--global', TRAIN_CONFIG, '--reason', 'mine')).stderr).toContain('error role_required');
    expect((await gatehouse(registry.adminToken, 'models', 'allow', 'lab-model', '--global', TRAIN_CONFIG)).code).toBe(2);
  });
});
