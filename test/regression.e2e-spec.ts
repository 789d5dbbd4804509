import { createHash, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifierModel, jsonLines, standardFixtures, type ModelFixture } from './fixtures/onnx-models';
import { BlobInspection } from './support/blob-inspection';
import { classifierWithLogitsModel } from './fixtures/regression-models';
import { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { checkResult, finishedGate, registerVersion, trustedSigningKey } from './support/model-registration';
import { promoteAndSettle } from './support/promotion-flow';
import { startRegistry, type TestRegistry } from './support/registry';

const fixtures = standardFixtures();
const REGRESSION_CHECKS = ['contract_compat', 'baseline_size', 'baseline_accuracy', 'baseline_latency', 'baseline_memory'];

/** Candidates compared with the version in production, in the canary gate of real promotions through HTTP. */
describe('regression against production (embedded)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let approvers: ApiClient[];
  let releaseKey: KeyObject;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50' });
    releaseKey = await trustedSigningKey(registry.admin, 'release');
    const token = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
    engineer = await token('engineer', ['ml_engineer']);
    approvers = [await token('approver-a', ['approver']), await token('approver-b', ['approver'])];
  });
  afterAll(() => registry?.close());

  const register = async (version: string, model: ModelFixture) => {
    expect(
      (
        await registerVersion(engineer, {
          model: 'ranker',
          version,
          task: model.task,
          files: { 'model.onnx': model.bytes },
          schema: model.schema,
          datasets: [{ role: 'evaluation', name: 'ranker-eval', content: jsonLines(fixtures.classifier.evaluation) }],
          signWith: releaseKey,
        })
      ).status,
    ).toBe(200);
    return (await finishedGate(engineer, 'ranker', version)).status;
  };
  const promote = (version: string, stage: 'staging' | 'canary' | 'production') => promoteAndSettle(engineer, approvers, { model: 'ranker', version }, stage);
  const gateRun = async (promotion: { gateRunId: string }) => (await engineer.get(`/v1/gate-runs/${promotion.gateRunId}`)).body;
  const markdown = async (promotion: { gateRunId: string }) => (await engineer.get(`/v1/gate-runs/${promotion.gateRunId}/report.md`)).body.toString() as string;

  it('has nothing to compare the first version with, then refuses at canary a candidate above the floor but 5% less accurate than production', async () => {
    expect(await register('1.0.0', fixtures.classifier.model)).toBe('passed');
    expect((await promote('1.0.0', 'staging')).status).toBe('completed');
    const firstCanary = await promote('1.0.0', 'canary');
    expect(firstCanary.status).toBe('completed');
    const first = await gateRun(firstCanary);
    expect(first.report.baseline).toBeNull();
    for (const id of REGRESSION_CHECKS)
      expect(checkResult(first, id)).toMatchObject({ status: 'skipped', message: 'there is no production version of ranker yet to compare with' });
    expect(await markdown(firstCanary)).toContain('No version of ranker is in production yet');
    expect((await promote('1.0.0', 'production')).status).toBe('completed');

    // The registration gate's absolute floor (accuracy 0.85) lets it in; production's accuracy is the bar at canary.
    const worse = fixtures.slightlyWorseClassifier;
    expect(await register('1.1.0', worse.model)).toBe('passed');
    expect((await promote('1.1.0', 'staging')).status).toBe('completed');
    const refused = await promote('1.1.0', 'canary');
    expect(refused).toMatchObject({ status: 'rejected', outcome: { code: 'gate_failed', failedChecks: ['baseline_accuracy'] } });
    const run = await gateRun(refused);
    expect(run.report.baseline).toEqual({ model: 'ranker', version: '1.0.0' });
    expect(checkResult(run, 'evaluation').status).toBe('passed');
    const accuracy = checkResult(run, 'baseline_accuracy');
    expect(accuracy).toMatchObject({ status: 'failed', threshold: 0.95, details: { comparison: { metric: 'accuracy', verdict: 'failed' } } });
    expect(accuracy.value).toBeCloseTo(worse.accuracy / fixtures.classifier.accuracy, 6);
    for (const id of ['contract_compat', 'baseline_size', 'baseline_latency', 'baseline_memory']) expect(checkResult(run, id).status).toBe('passed');
    const report = await markdown(refused);
    expect(report).toContain('## Compared with production ranker@1.0.0');
    expect(report).toContain('| check | metric | baseline | candidate | ratio | threshold | verdict |');
    expect(report).toMatch(/\| `baseline_accuracy` \| accuracy \| 0\.\d+ \| 0\.\d+ \| 0\.9\d\d× \| ≥ 0\.95× \| ❌ failed \|/);
    expect((await engineer.get('/v1/models/ranker/stages')).body.stages).toMatchObject({ staging: { version: '1.1.0' }, canary: null, production: { version: '1.0.0' } });
  });

  it('refuses a changed contract under a minor bump, naming the change, and lets the next major version make it', async () => {
    const withLogits = classifierWithLogitsModel(fixtures.classifier.weights);
    expect(await register('1.2.0', withLogits)).toBe('passed');
    expect((await promote('1.2.0', 'staging')).status).toBe('completed');
    const minor = await promote('1.2.0', 'canary');
    expect(minor).toMatchObject({ status: 'rejected', outcome: { failedChecks: ['contract_compat'] } });
    expect(checkResult(await gateRun(minor), 'contract_compat').message).toBe(
      'the input/output contract changed from production ranker@1.0.0 under a minor bump 1.0.0 → 1.2.0, and a change needs a major version bump' +
        ' (schemas compared: production\'s declared, the candidate\'s declared): added output "logits"',
    );

    expect(await register('2.0.0', withLogits)).toBe('passed');
    expect((await promote('2.0.0', 'staging')).status).toBe('completed');
    const major = await promote('2.0.0', 'canary');
    expect(major.status).toBe('completed');
    const run = await gateRun(major);
    expect(checkResult(run, 'contract_compat')).toMatchObject({
      status: 'passed',
      message: expect.stringContaining('allowed by the major bump 1.0.0 → 2.0.0 (schemas compared: production\'s declared, the candidate\'s declared): added output "logits"'),
    });
    expect(await markdown(major)).toMatch(
      /\| `contract_compat` \| input\/output contract \| 1\.0\.0 \(declared\): 1 input, 1 output \| 2\.0\.0 \(declared\): 1 change \(major bump 1\.0\.0 → 2\.0\.0\) \| — \| .* \| ✅ passed \|/,
    );
  });

  it("errors, never passes, when production's stored model no longer matches its digest", async () => {
    const candidate = classifierModel(fixtures.classifier.weights, { paddingBytes: 64 });
    expect(await register('1.3.0', candidate)).toBe('passed');
    expect((await promote('1.3.0', 'staging')).status).toBe('completed');
    const stored = fixtures.classifier.model.bytes;
    await new BlobInspection(registry).overwrite(createHash('sha256').update(stored).digest('hex'), Buffer.from(stored).reverse());
    const refused = await promote('1.3.0', 'canary');
    expect(refused).toMatchObject({ status: 'rejected', outcome: { code: 'gate_failed' } });
    const run = await gateRun(refused);
    for (const id of REGRESSION_CHECKS) {
      expect(checkResult(run, id)).toMatchObject({
        status: 'error',
        message: expect.stringContaining('production version ranker@1.0.0 could not be compared with: model.onnx of ranker@1.0.0 is unusable'),
      });
    }
    expect(run.report.failedChecks).toEqual(expect.arrayContaining(REGRESSION_CHECKS));
  });
});

describe('gatehouse validate --baseline (offline)', () => {
  let workDir: string;
  const gatehouse = (...argv: string[]) => runCaptured(argv, { HOME: workDir }, workDir);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-regression-'));
    const withLogits = classifierWithLogitsModel(fixtures.classifier.weights);
    await writeFile(join(workDir, 'candidate.onnx'), withLogits.bytes);
    await writeFile(join(workDir, 'production.onnx'), fixtures.classifier.model.bytes);
    await writeFile(join(workDir, 'schema.json'), JSON.stringify(withLogits.schema));
    await writeFile(join(workDir, 'eval.jsonl'), jsonLines(fixtures.classifier.evaluation));
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  it('runs the regression checks against a local production model, with the versions given', async () => {
    const common = [
      'validate',
      'candidate.onnx',
      '--task',
      'classification',
      '--dataset',
      'eval.jsonl',
      '--schema',
      'schema.json',
      '--stage',
      'canary',
      '--baseline',
      'production.onnx',
      '--baseline-version',
      '1.0.0',
    ];
    const minor = await gatehouse(...common, '--candidate-version', '1.1.0', '--markdown', 'report.md');
    expect(minor.code).toBe(1);
    expect(minor.stdout).toContain('refused by: contract_compat');
    expect(await readFile(join(workDir, 'report.md'), 'utf8')).toContain('## Compared with production candidate.onnx@1.0.0');
    const major = await gatehouse(...common, '--candidate-version', '2.0.0');
    expect(major.stdout).toMatch(/contract_compat\s+critical\s+passed/);
    expect(major.code).toBe(0);
  });
});
