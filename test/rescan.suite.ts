import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCANNER_VERSION } from '@gatehouse/artifact-scan';
import { standardFixtures } from './fixtures/onnx-models';
import { stateDictPickle } from './fixtures/pickles';
import { pytorchCheckpointZip } from './fixtures/zip-archives';
import { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { checkResult, finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, startReplica, type Backend, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const UPGRADED_SCANNER = '9999.1.0';

/** A small policy: the registration gate scans; staging and canary only check the files. `maxZipEntries` tightens the scan. */
async function writePolicy(name: string, scanThresholds: Record<string, unknown>): Promise<string> {
  const path = join(tmpdir(), `gatehouse-rescan-${name}-${process.pid}-${Date.now()}.json`);
  await writeFile(
    path,
    JSON.stringify({
      stages: {
        registered: { checks: { files_intact: {}, artifact_scan: { thresholds: scanThresholds } } },
        staging: { checks: { files_intact: {} } },
        canary: { checks: { files_intact: {} } },
      },
    }),
  );
  return path;
}

/** Re-scans when the scanner or the scan's policy changes, through HTTP, on each backend. */
export function describeRescans(backend: Backend): void {
  describe(`re-scans (${backend})`, () => {
    let registry: TestRegistry;
    let engineer: ApiClient;
    let reader: ApiClient;
    let lenient: string;
    let strict: string;
    let promotionRules: string;
    let approver: ApiClient;
    const { classifier } = standardFixtures();
    // A torch checkpoint of four zip entries: clean under the lenient policy, refused by one allowing two.
    const checkpoint = pytorchCheckpointZip(stateDictPickle(), [Buffer.alloc(16)]);
    const version = async (name: string) => (await reader.get(`/v1/models/scanned/versions/${name}`)).body;
    const actions = async (name: string) => (await reader.get(`/v1/audit?subject=version:scanned@${name}&limit=200`)).body.items as { action: string; payload: any }[];
    const restartWith = async (change: Partial<TestRegistry['config']['gates']>) => {
      Object.assign(registry.config.gates, change);
      await registry.restart();
      engineer = new ApiClient(registry.url, engineer.token);
      reader = new ApiClient(registry.url, reader.token);
      approver = new ApiClient(registry.url, approver.token);
    };
    const rescanned = (name: string, test: (security: any) => boolean) =>
      until(async () => {
        const security = (await version(name)).security;
        return security && test(security) ? security : undefined;
      }, 60_000);
    const promote = async (name: string, body: object) => {
      const requested = await engineer.post(`/v1/models/scanned/versions/${name}/promotions`, body);
      if (requested.status !== 202) return requested;
      return {
        status: 202,
        body: await until(async () => {
          const promotion = (await engineer.get(`/v1/promotions/${requested.body.id}`)).body;
          return ['completed', 'rejected', 'awaiting_approval'].includes(promotion.status) ? promotion : undefined;
        }, 60_000),
      };
    };

    beforeAll(async () => {
      lenient = await writePolicy('lenient', {});
      strict = await writePolicy('strict', { maxZipEntries: 2 });
      // Canary waits for one approval, so a request can be pending when its version is flagged.
      promotionRules = join(tmpdir(), `gatehouse-rescan-promotion-${process.pid}-${Date.now()}.json`);
      await writeFile(promotionRules, JSON.stringify({ stages: { staging: { from: ['none'], approvals: 0 }, canary: { from: ['staging'], approvals: 1 } } }));
      registry = await startRegistry(backend, { GATE_POLICY: lenient, PROMOTION_POLICY: promotionRules, GATE_WORKERS: '1', GATE_POLL_MS: '50' });
      engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
      reader = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'auditor', roles: ['reader'] })).body.token);
      approver = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'approver', roles: ['approver'] })).body.token);
    });
    afterAll(async () => {
      await registry?.close();
      await rm(lenient, { force: true });
      await rm(strict, { force: true });
      await rm(promotionRules, { force: true });
    });

    it('records the scanner version and policy digest with each scan verdict', async () => {
      for (const [name, files] of [
        ['1.0.0', { 'model.onnx': classifier.model.bytes, 'checkpoint.pt': checkpoint }],
        ['2.0.0', { 'model.onnx': classifier.model.bytes }],
      ] as const) {
        expect((await registerVersion(engineer, { model: 'scanned', version: name, task: 'classification', files, schema: classifier.model.schema })).status).toBe(200);
        const run = await finishedGate(reader, 'scanned', name);
        expect({ status: run.status, scan: checkResult(run, 'artifact_scan').message }).toMatchObject({ status: 'passed' });
        const { scannerVersion, policyDigest } = checkResult(run, 'artifact_scan').details;
        expect(scannerVersion).toBe(SCANNER_VERSION);
        expect(policyDigest).toMatch(/^[0-9a-f]{64}$/);
        expect((await version(name)).security).toEqual({ status: 'clean', scannerVersion, policyDigest, gateRunId: run.id, at: expect.any(String) });
      }
      expect((await promote('1.0.0', { stage: 'staging' })).body.status).toBe('completed');
    });

    it('re-scans what is validated or serves when the registry starts with a newer scanner, leaving status and latest gate alone', async () => {
      const before = await version('1.0.0');
      await restartWith({ scannerVersion: UPGRADED_SCANNER });
      for (const name of ['1.0.0', '2.0.0']) {
        const security = await rescanned(name, (verdict) => verdict.scannerVersion === UPGRADED_SCANNER);
        expect(security).toMatchObject({ status: 'clean', policyDigest: before.security.policyDigest });
        const run = (await reader.get(`/v1/gate-runs/${security.gateRunId}`)).body;
        expect(run).toMatchObject({ trigger: 'rescan', stage: 'registered', status: 'passed', requestedBy: 'gatehouse:rescan' });
        expect(run.policy.checks.map((check: { id: string }) => check.id)).toEqual(['artifact_scan']);
        expect(checkResult(run, 'artifact_scan').details.scannerVersion).toBe(UPGRADED_SCANNER);
        const rescan = (await actions(name)).find((event) => event.action === 'version.rescanned');
        expect(rescan?.payload).toMatchObject({ gateRunId: run.id, outcome: 'passed', verdict: 'clean', applied: true, scannerVersion: UPGRADED_SCANNER });
      }
      const after = await version('1.0.0');
      expect(after).toMatchObject({ status: 'validated', stage: 'staging', gate: before.gate });
    });

    it('flags a version that fails under a stricter policy, keeps it serving, and refuses its promotion', async () => {
      const lenientDigest = (await version('2.0.0')).security.policyDigest;
      const pending = (await promote('1.0.0', { stage: 'canary', trafficPercent: 10 })).body;
      expect(pending.status).toBe('awaiting_approval');
      await restartWith({ policyFile: strict });
      const flagged = await rescanned('1.0.0', (verdict) => verdict.policyDigest !== lenientDigest);
      expect(flagged).toMatchObject({ status: 'flagged', scannerVersion: UPGRADED_SCANNER });
      expect(flagged.message).toContain('checkpoint.pt');
      expect(await rescanned('2.0.0', (verdict) => verdict.policyDigest === flagged.policyDigest)).toMatchObject({ status: 'clean' });

      // The flag moves no pointer: the version still serves staging.
      expect(await version('1.0.0')).toMatchObject({ status: 'validated', stage: 'staging' });
      expect((await reader.get('/v1/models/scanned/stages')).body.stages.staging).toMatchObject({ version: '1.0.0' });

      const refused = await engineer.post('/v1/models/scanned/versions/1.0.0/promotions', { stage: 'canary', trafficPercent: 10 });
      expect(refused.status).toBe(422);
      expect(refused.body.error).toBe('version_flagged');
      expect(refused.body.message).toContain(`/v1/gate-runs/${flagged.gateRunId}`);
      expect(refused.body.message).toMatch(/roll back/);
      // The request that was waiting for approval does not complete either.
      const approved = (await approver.post(`/v1/promotions/${pending.id}/approvals`, { decision: 'approve' })).body;
      expect(approved).toMatchObject({ status: 'rejected', outcome: { code: 'version_flagged' } });
      expect((await reader.get('/v1/models/scanned/stages')).body.stages.canary).toBeNull();

      const events = await actions('1.0.0');
      expect(events.find((event) => event.action === 'version.flagged')?.payload).toMatchObject({
        gateRunId: flagged.gateRunId,
        trigger: 'rescan',
        stage: 'staging',
        wasFlagged: false,
      });
      expect(events.filter((event) => event.action === 'version.rescanned').map((event) => event.payload.verdict)).toEqual(['flagged', 'clean']);
      expect((await reader.get('/v1/audit/verify')).body.ok).toBe(true);
    });

    it('re-scans on demand from the CLI, waits, and exits 1 when a version is flagged', async () => {
      const gatehouse = (token: string, ...argv: string[]) => runCaptured(['--url', registry.url, '--token', token, ...argv], { HOME: tmpdir() }, tmpdir());
      const denied = await gatehouse(engineer.token!, 'admin', 'rescan');
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('error role_required');

      const result = await gatehouse(registry.adminToken, 'admin', 'rescan', '--all', '--wait');
      const shown = await gatehouse(registry.adminToken, 'versions', 'show', 'scanned@1.0.0');
      expect(shown.stdout).toMatch(/security:\s+FLAGGED under scanner 9999\.1\.0 \(gate run [0-9a-f-]{36}\): .*checkpoint\.pt/);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`scanner ${UPGRADED_SCANNER}: 2 re-scan(s) queued`);
      expect(result.stdout).toMatch(/scanned\s+1\.0\.0\s+staging\s+requested\s+this request\s+\S+\s+failed \(flagged\)/);
      expect(result.stdout).toMatch(/scanned\s+2\.0\.0\s+none\s+requested\s+this request\s+\S+\s+passed/);
    });

    it("queues re-scans on an admin's request, never two at once for one version", async () => {
      expect((await engineer.post('/v1/admin/rescan', {})).status).toBe(403);
      expect((await registry.admin.post('/v1/admin/rescan', { all: 'yes' })).status).toBe(400);
      expect((await registry.admin.request('POST', '/v1/admin/rescan')).status).toBe(202);
      const nothingStale = await registry.admin.post('/v1/admin/rescan', {});
      expect(nothingStale.status).toBe(202);
      expect(nothingStale.body).toMatchObject({ scannerVersion: UPGRADED_SCANNER, queued: [], alreadyQueued: [] });

      // No worker here, so what is queued stays queued while the second request looks.
      await restartWith({ workers: 0 });
      const first = await registry.admin.post('/v1/admin/rescan', { all: true });
      expect(first.status).toBe(202);
      expect(first.body.queued.map((entry: { version: string; reason: string }) => `${entry.version}:${entry.reason}`).sort()).toEqual(['1.0.0:requested', '2.0.0:requested']);
      const second = await registry.admin.post('/v1/admin/rescan', { all: true });
      expect(second.body.queued).toEqual([]);
      expect(second.body.alreadyQueued.map((entry: { gateRunId: string }) => entry.gateRunId).sort()).toEqual(
        first.body.queued.map((entry: { gateRunId: string }) => entry.gateRunId).sort(),
      );

      await restartWith({ workers: 1 });
      for (const entry of first.body.queued) {
        const run = await until(async () => {
          const found = (await reader.get(entry.links.gateRun)).body;
          return ['passed', 'failed', 'error'].includes(found.status) ? found : undefined;
        }, 60_000);
        expect(run.status).toBe(entry.version === '1.0.0' ? 'failed' : 'passed');
      }
      expect((await version('1.0.0')).security.status).toBe('flagged');
    });

    it('lifts a flag only when a re-scan passes, and the version can be promoted again', async () => {
      await restartWith({ policyFile: lenient });
      const cleared = await rescanned('1.0.0', (verdict) => verdict.status === 'clean');
      expect(cleared.scannerVersion).toBe(UPGRADED_SCANNER);
      const lifted = (await actions('1.0.0')).find((event) => event.action === 'version.rescanned');
      expect(lifted?.payload).toMatchObject({ gateRunId: cleared.gateRunId, verdict: 'clean', cleared: true, previous: { status: 'flagged' } });
      const requested = (await promote('1.0.0', { stage: 'canary', trafficPercent: 10 })).body;
      expect(requested.status).toBe('awaiting_approval');
      expect((await approver.post(`/v1/promotions/${requested.id}/approvals`, { decision: 'approve' })).body.status).toBe('completed');
    });

    if (backend === 'postgres+s3') {
      it('queues one re-scan per version when two replicas start together under a new scanner', async () => {
        const replica = (await startReplica(registry, { GATE_POLICY: lenient, GATE_WORKERS: '0' }))!;
        try {
          const [{ count: before }] = await registry.sql(`SELECT count(*)::int AS count FROM gate_runs WHERE trigger = 'rescan'`);
          Object.assign(registry.config.gates, { scannerVersion: '9999.2.0', workers: 0 });
          Object.assign(replica.config.gates, { scannerVersion: '9999.2.0' });
          await Promise.all([registry.restart(), replica.restart()]);
          const perVersion = await registry.sql(
            `SELECT version_id, count(*)::int AS count FROM (SELECT version_id FROM gate_runs WHERE trigger = 'rescan' ORDER BY seq OFFSET $1) AS recent GROUP BY version_id`,
            [before],
          );
          expect(perVersion.map((row) => row.count)).toEqual([1, 1]);
        } finally {
          await replica.close();
        }
      });
    }
  });
}
