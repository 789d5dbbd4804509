import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { escapingExternalDataModel } from './fixtures/hostile-onnx';
import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import { PICKLE_SENTINEL, hostilePickles, stateDictPickle } from './fixtures/pickles';
import { safetensorsFile } from './fixtures/safetensors-files';
import { pytorchCheckpointZip, zipArchive } from './fixtures/zip-archives';
import type { ApiClient } from './support/api-client';
import { checkResult, finishedGate, registerVersion, trustedSigningKey } from './support/model-registration';
import { startRegistry, WITHOUT_CANARY_ANALYSIS, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const fixtures = standardFixtures();
const classifier = fixtures.classifier.model;

/** The security checks through HTTP: what a registrant uploads is scanned before anything loads it, and production wants a trusted signature. */
describe('security gates (embedded)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let policyDirectory: string;

  beforeAll(async () => {
    rmSync(PICKLE_SENTINEL, { force: true });
    policyDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-security-policy-'));
    const promotionPolicy = join(policyDirectory, 'promotion.json');
    await writeFile(
      promotionPolicy,
      JSON.stringify({ stages: { staging: { from: ['none'], approvals: 0 }, canary: { from: ['staging'], approvals: 0 }, production: { from: ['canary'], approvals: 0 } } }),
    );
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50', PROMOTION_POLICY: promotionPolicy, ...WITHOUT_CANARY_ANALYSIS });
    engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
  });
  afterAll(async () => {
    await registry?.close();
    await rm(policyDirectory, { recursive: true, force: true });
    // Every hostile pickle above would have created this file had anything unpickled it.
    expect(existsSync(PICKLE_SENTINEL)).toBe(false);
  });

  const register = async (version: string, files: Record<string, Uint8Array>, signWith?: KeyObject) => {
    const committed = await registerVersion(engineer, {
      model: 'scanned',
      version,
      task: 'classification',
      files,
      schema: classifier.schema,
      datasets: [{ role: 'evaluation', name: 'scanned-eval', content: jsonLines(fixtures.classifier.evaluation) }],
      signWith,
    });
    expect(committed.status).toBe(200);
    return finishedGate(engineer, 'scanned', version);
  };

  it('rejects a version whose PyTorch checkpoint carries a hostile pickle, naming the global, and never loads its model', async () => {
    const run = await register('1.0.0', { 'model.onnx': classifier.bytes, 'checkpoint.pt': pytorchCheckpointZip(hostilePickles()[2].bytes, [Buffer.alloc(16)]) });
    expect(run).toMatchObject({ status: 'failed', failedChecks: ['artifact_scan'] });
    const scan = checkResult(run, 'artifact_scan');
    expect(scan.details.findings).toEqual([expect.objectContaining({ severity: 'CRITICAL', rule: 'dangerous_global', file: 'checkpoint.pt', module: 'posix', name: 'system' })]);
    expect(scan.details.findings[0].location).toMatch(/^archive\/data\.pkl › STACK_GLOBAL opcode at byte \d+$/);
    expect(checkResult(run, 'model_loads').status).toBe('skipped');
    expect((await engineer.get('/v1/models/scanned/versions/1.0.0')).body.status).toBe('rejected');

    const markdown = String((await engineer.get(`/v1/gate-runs/${run.id}/report.md`)).body);
    expect(markdown).toContain('## Security findings');
    expect(markdown).toMatch(
      /### CRITICAL \(1\)\n\n\| file \| location \| global \| rule \| why \|\n\|---\|---\|---\|---\|---\|\n\| checkpoint\.pt \| archive\/data\.pkl › STACK_GLOBAL opcode at byte \d+ \| `posix\.system` \| dangerous_global \|/,
    );
  });

  it.each([
    { name: 'ONNX external data that escapes the version', files: () => escapingExternalDataModel('/etc/passwd').files, rule: 'external_data_path_traversal' },
    {
      name: 'a broken safetensors file',
      files: () => ({ 'model.onnx': classifier.bytes, 'model.safetensors': safetensorsFile('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', Buffer.alloc(4)) }),
      rule: 'safetensors_tensor_size_mismatch',
    },
    {
      name: 'a zip bomb small on disk',
      files: () => ({ 'model.onnx': classifier.bytes, 'extras.zip': zipArchive([{ name: 'zeros.bin', data: Buffer.alloc(16 * 1024 * 1024), method: 'deflate' }]) }),
      rule: 'zip_bomb',
    },
  ])('rejects $name', async ({ files, rule }) => {
    const version = `1.1.${rule.length}`;
    const run = await register(version, files());
    expect(run.failedChecks).toContain('artifact_scan');
    expect(checkResult(run, 'artifact_scan').details.findings.map((finding: { rule: string }) => finding.rule)).toContain(rule);
  });

  it('validates a benign checkpoint, and lets only a version signed by a signer trusted today through the production gate', async () => {
    const benign = { 'model.onnx': classifier.bytes, 'checkpoint.pt': pytorchCheckpointZip(stateDictPickle(['w', 'b']), [Buffer.alloc(16), Buffer.alloc(8)]) };
    const key = await trustedSigningKey(registry.admin, 'release');
    const unsigned = await register('2.0.0', benign);
    expect(unsigned.status).toBe('passed');
    expect(checkResult(unsigned, 'artifact_scan')).toMatchObject({
      status: 'passed',
      details: {
        files: [
          { path: 'checkpoint.pt', format: 'zip' },
          { path: 'model.onnx', format: 'onnx' },
        ],
      },
    });
    expect((await register('2.1.0', benign, key)).status).toBe('passed');

    const toProduction = async (version: string) => {
      for (const [stage, extra] of [
        ['staging', {}],
        ['canary', { trafficPercent: 10 }],
        ['production', {}],
      ] as const) {
        const requested = await engineer.post(`/v1/models/scanned/versions/${version}/promotions`, { stage, ...extra });
        expect(requested.status).toBe(202);
        const promotion = await until(async () => {
          const current = (await engineer.get(`/v1/promotions/${requested.body.id}`)).body;
          return ['completed', 'rejected'].includes(current.status) ? current : undefined;
        }, 60_000);
        if (promotion.status !== 'completed') return { stage, promotion };
      }
      return { stage: 'production', promotion: null };
    };
    const refused = await toProduction('2.0.0');
    expect(refused.stage).toBe('production');
    expect(refused.promotion).toMatchObject({ status: 'rejected' });
    const gate = (await engineer.get(`/v1/gate-runs/${refused.promotion.gateRunId}`)).body;
    expect(gate.failedChecks).toEqual(['signature_trusted']);
    expect(checkResult(gate, 'signature_trusted').message).toContain('not signed');

    expect(await toProduction('2.1.0')).toEqual({ stage: 'production', promotion: null });
    expect((await engineer.get('/v1/models/scanned/stages')).body.stages.production.version).toBe('2.1.0');

    // A signer revoked after commit no longer vouches: the production gate verifies against today's trust.
    const interim = await trustedSigningKey(registry.admin, 'interim');
    expect((await register('2.2.0', benign, interim)).status).toBe('passed');
    const signers = (await registry.admin.get('/v1/signers')).body as { id: string; name: string }[];
    expect((await registry.admin.post(`/v1/signers/${signers.find((signer) => signer.name === 'interim')!.id}/revoke`)).status).toBe(200);
    const revoked = await toProduction('2.2.0');
    expect(revoked).toMatchObject({ stage: 'production', promotion: { status: 'rejected' } });
    const revokedGate = (await engineer.get(`/v1/gate-runs/${revoked.promotion.gateRunId}`)).body;
    expect(revokedGate.failedChecks).toEqual(['signature_trusted']);
    expect(checkResult(revokedGate, 'signature_trusted').details).toMatchObject({ signer: 'interim', reason: 'signer_revoked' });
  });
});
