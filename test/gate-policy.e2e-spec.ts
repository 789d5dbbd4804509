import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ApiClient } from './support/api-client';
import { startRegistry, type TestRegistry } from './support/registry';

/** A policy without production, whose stages extend one another and change settings, severities and thresholds on the way. */
const POLICY = {
  settings: { timeoutSeconds: 300 },
  stages: {
    registered: {
      checks: {
        files_intact: {},
        artifact_scan: {},
        size_limit: { thresholds: { maxMiB: 100 }, byTask: { generative: { maxMiB: 150 } } },
        model_loads: {},
        evaluation: { thresholds: { minAccuracy: 0.9 } },
        final_loss: {},
      },
    },
    staging: {
      extends: 'registered',
      settings: { timeoutSeconds: 900 },
      checks: { artifact_scan: null, evaluation: { thresholds: { required: true } }, signature_trusted: { severity: 'warning' } },
    },
    canary: { extends: 'staging', checks: { size_limit: { thresholds: { maxMiB: 80 } }, onnx_parses: { after: 'files_intact' } } },
  },
};

/** GET /v1/gate-policy through HTTP: what `gatehouse policy show` prints. */
describe('gate policy (embedded)', () => {
  let registry: TestRegistry;
  let reader: ApiClient;
  let policyFile: string;
  const ids = (stage: { checks: { id: string }[] }) => stage.checks.map((check) => check.id);

  beforeAll(async () => {
    policyFile = join(tmpdir(), `gatehouse-gate-policy-${process.pid}-${Date.now()}.json`);
    await writeFile(policyFile, JSON.stringify(POLICY));
    registry = await startRegistry('embedded', { GATE_POLICY: policyFile });
    reader = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'auditor', roles: ['reader'] })).body.token);
  });
  afterAll(async () => {
    await registry?.close();
    await rm(policyFile, { force: true });
  });

  it('shows every stage the policy has, in promotion order, with extends applied, to any token', async () => {
    const response = await reader.get('/v1/gate-policy');
    expect(response.status).toBe(200);
    expect(response.body.source).toBe(basename(policyFile));
    const [registered, staging, canary, ...rest] = response.body.stages;
    expect(rest).toEqual([]);
    expect(registered).toMatchObject({ stage: 'registered', extends: null, task: 'classification', settings: { timeoutSeconds: 300, batchSize: 64 } });
    expect(ids(registered)).toEqual(['files_intact', 'artifact_scan', 'size_limit', 'model_loads', 'evaluation']);
    expect(registered.checks[4]).toEqual({ id: 'evaluation', severity: 'critical', thresholds: { minAccuracy: 0.9, minMacroF1: 0, maxMae: 0, maxRmse: 0, required: false } });

    expect(staging).toMatchObject({ stage: 'staging', extends: 'registered', settings: { timeoutSeconds: 900 } });
    expect(ids(staging)).toEqual(['files_intact', 'size_limit', 'model_loads', 'evaluation', 'signature_trusted']);
    expect(staging.checks[3].thresholds).toMatchObject({ minAccuracy: 0.9, required: true });
    expect(staging.checks[4]).toEqual({ id: 'signature_trusted', severity: 'warning', thresholds: { required: false } });

    expect(canary).toMatchObject({ stage: 'canary', extends: 'staging', settings: { timeoutSeconds: 900 } });
    expect(ids(canary)).toEqual(['files_intact', 'onnx_parses', 'size_limit', 'model_loads', 'evaluation', 'signature_trusted']);
    expect(canary.checks[2].thresholds).toEqual({ maxMiB: 80 });

    expect((await registry.anonymous.get('/v1/gate-policy')).status).toBe(401);
  });

  it('resolves one stage for one task', async () => {
    const response = await reader.get('/v1/gate-policy?stage=canary&task=generative');
    expect(response.status).toBe(200);
    expect(response.body.stages).toHaveLength(1);
    const [canary] = response.body.stages;
    expect(canary).toMatchObject({ stage: 'canary', extends: 'staging', task: 'generative' });
    // evaluation is for classification and regression, final_loss for generative models; byTask still wins over canary's maxMiB.
    expect(ids(canary)).toEqual(['files_intact', 'onnx_parses', 'size_limit', 'model_loads', 'final_loss', 'signature_trusted']);
    expect(canary.checks[2].thresholds).toEqual({ maxMiB: 150 });
  });

  it('refuses unknown stages and tasks with 400 naming the valid ones, and a stage the policy leaves out with 404 naming those it has', async () => {
    const badStage = await reader.get('/v1/gate-policy?stage=nightly');
    expect(badStage.status).toBe(400);
    expect(badStage.body.error).toBe('validation_failed');
    expect(badStage.body.details.fields).toEqual([{ field: 'stage', errors: [expect.stringContaining('registered, staging, canary, production')] }]);

    const badTask = await reader.get('/v1/gate-policy?task=poetry');
    expect(badTask.status).toBe(400);
    expect(badTask.body.details.fields).toEqual([{ field: 'task', errors: [expect.stringContaining('classification, regression, generative, other')] }]);

    const absent = await reader.get('/v1/gate-policy?stage=production');
    expect(absent.status).toBe(404);
    expect(absent.body).toMatchObject({ error: 'unknown_stage', details: { stage: 'production', configured: ['registered', 'staging', 'canary'] } });
    expect(absent.body.message).toBe('the gate policy has no stage "production" (it has: registered, staging, canary)');

    expect((await reader.get('/v1/gate-policy?colour=red')).status).toBe(400);
  });
});
