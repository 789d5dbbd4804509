import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { customOperatorModel } from '../../../../../test/fixtures/hostile-onnx';
import { standardFixtures } from '../../../../../test/fixtures/onnx-models';
import { PICKLE_SENTINEL, hostilePickles, pickleBytes, stateDictPickle } from '../../../../../test/fixtures/pickles';
import { pytorchCheckpointZip } from '../../../../../test/fixtures/zip-archives';
import { GATE_CHECKS } from '..';
import { thresholdsFor, type CheckResult, type Thresholds } from '../../check';
import { GateContext, type SignatureStatus } from '../../gate-context';
import { GateEngine } from '../../gate-engine';
import type { StagePolicy } from '../../gate-policy';
import { DEFAULT_GATE_SETTINGS } from '../../gate-settings';
import { renderMarkdown } from '../../gate-report';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const classifier = standardFixtures().classifier.model;

let workspace: string;
beforeAll(() => rmSync(PICKLE_SENTINEL, { force: true }));
afterAll(() => expect(existsSync(PICKLE_SENTINEL)).toBe(false));
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'gatehouse-security-'));
});
afterEach(() => rm(workspace, { recursive: true, force: true }));

/** Runs the policy's checks through the engine, as a gate would, on files written to a fresh directory. */
async function gate(files: Record<string, Uint8Array>, checks: { id: string; thresholds?: Thresholds }[], signature?: SignatureStatus) {
  for (const [path, bytes] of Object.entries(files)) await writeFile(join(workspace, path), bytes);
  const context = new GateContext(
    {
      model: 'fixture',
      version: '1.0.0',
      task: 'classification',
      declaredSchema: null,
      reportedMetrics: {},
      files: Object.entries(files).map(([path, bytes]) => ({ path, sha256: sha256(bytes), size: bytes.length })),
      signature,
    },
    workspace,
    [],
    DEFAULT_GATE_SETTINGS,
  );
  const policy: StagePolicy = {
    stage: 'registered',
    task: 'classification',
    settings: DEFAULT_GATE_SETTINGS,
    checks: checks.map(({ id, thresholds }) => {
      const check = GATE_CHECKS.find((candidate) => candidate.id === id)!;
      return { id, severity: check.severity, thresholds: thresholdsFor(check, 'classification', thresholds) };
    }),
  };
  return new GateEngine(GATE_CHECKS).run(context, policy);
}
const result = (report: { results: CheckResult[] }, id: string) => report.results.find((candidate) => candidate.id === id)!;

describe('artifact_scan', () => {
  it('passes a clean ONNX model with a benign PyTorch checkpoint beside it', async () => {
    const report = await gate({ 'model.onnx': classifier.bytes, 'checkpoint.pt': pytorchCheckpointZip(stateDictPickle(), [Buffer.alloc(16)]) }, [{ id: 'artifact_scan' }]);
    expect(result(report, 'artifact_scan')).toMatchObject({ status: 'passed', value: 0, message: '2 file(s) scanned, nothing found' });
  });

  it('refuses a hostile checkpoint, and the model is then never loaded', async () => {
    const report = await gate({ 'model.onnx': classifier.bytes, 'checkpoint.pt': pytorchCheckpointZip(hostilePickles()[2].bytes, []) }, [
      { id: 'artifact_scan' },
      { id: 'model_loads' },
    ]);
    expect(report.verdict).toBe('failed');
    expect(result(report, 'artifact_scan')).toMatchObject({ status: 'failed', value: 1, family: 'security' });
    expect(result(report, 'artifact_scan').message).toContain('1 CRITICAL in 1 file(s): posix.system in checkpoint.pt (archive/data.pkl › STACK_GLOBAL opcode at byte');
    expect(result(report, 'artifact_scan').recommendation).toContain('it would run code');
    expect(result(report, 'model_loads')).toMatchObject({ status: 'skipped', message: 'not run: artifact_scan did not pass' });
  });

  it('fails closed on globals off the allow-list, however harmless they look, and the policy can allow them', async () => {
    const files = { 'model.onnx': classifier.bytes, 'config.pkl': pickleBytes('\x80\x02cmylab.config\nTrainConfig\n)R.') };
    const refused = await gate(files, [{ id: 'artifact_scan' }]);
    expect(refused.verdict).toBe('failed');
    expect(result(refused, 'artifact_scan')).toMatchObject({ status: 'failed', value: 1 });
    expect(result(refused, 'artifact_scan').message).toContain('1 HIGH in 1 file(s): mylab.config.TrainConfig in config.pkl');
    expect(result(await gate(files, [{ id: 'artifact_scan', thresholds: { allowedGlobals: ['mylab.config.TrainConfig'] } }]), 'artifact_scan').status).toBe('passed');
  });

  it('lets the policy allow a custom operator domain', async () => {
    const custom = customOperatorModel().files;
    expect(result(await gate(custom, [{ id: 'artifact_scan' }]), 'artifact_scan')).toMatchObject({ status: 'failed' });
    expect(result(await gate(custom, [{ id: 'artifact_scan', thresholds: { allowedOnnxDomains: ['com.evil'] } }]), 'artifact_scan')).toMatchObject({ status: 'passed' });
  });

  it('groups the findings by severity in the Markdown report', async () => {
    const report = await gate({ 'model.onnx': classifier.bytes, 'a.pkl': hostilePickles()[0].bytes, 'b.pkl': pickleBytes('\x80\x02cmylab.config\nTrainConfig\n)R.') }, [
      { id: 'artifact_scan' },
    ]);
    const markdown = renderMarkdown(report);
    const critical = markdown.indexOf('### CRITICAL (1)');
    const high = markdown.indexOf('### HIGH (1)');
    expect(critical).toBeGreaterThan(markdown.indexOf('## Security findings'));
    expect(high).toBeGreaterThan(critical);
    expect(markdown.slice(critical, high)).toContain('| a.pkl | GLOBAL opcode at byte 0 | `os.system` | dangerous_global |');
  });
});

describe('signature_trusted', () => {
  const files = { 'model.onnx': classifier.bytes };
  it.each([
    { name: 'a valid trusted signature', signature: { present: true, ok: true, signer: 'release-key' }, required: true, status: 'passed' },
    { name: 'no signature where one is required', signature: { present: false, ok: true }, required: true, status: 'failed' },
    { name: 'no signature where none is required', signature: { present: false, ok: true }, required: false, status: 'warning' },
    {
      name: 'a signature by a revoked signer',
      signature: { present: true, ok: false, signer: 'old-key', reason: 'signer_revoked', message: 'signer old-key was revoked' },
      required: false,
      status: 'failed',
    },
    { name: 'no signature status (offline validation)', signature: undefined, required: true, status: 'skipped' },
  ])('$name: $status', async ({ signature, required, status }) => {
    expect(result(await gate(files, [{ id: 'signature_trusted', thresholds: { required } }], signature), 'signature_trusted').status).toBe(status);
  });
});
