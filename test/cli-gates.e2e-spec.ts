import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GATE_POLICY_FILE } from '@gatehouse/config';
import { classifierModel, jsonLines, standardFixtures } from './fixtures/onnx-models';
import { modeScalarExample, modeScalarModel } from './fixtures/input-models';
import { endlessLoopModel } from './fixtures/sandbox-models';
import { runCaptured } from './support/cli-runner';
import { finishedGate, registerVersion } from './support/model-registration';
import { until } from './support/wait';
import { startRegistry, type TestRegistry } from './support/registry';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;

describe('gatehouse validate (offline, no server)', () => {
  let workDir: string;
  const gatehouse = (...argv: string[]) => runCaptured(argv, { HOME: workDir }, workDir);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-validate-'));
    await mkdir(join(workDir, 'good'));
    await writeFile(join(workDir, 'good', 'model.onnx'), classifier.model.bytes);
    await writeFile(join(workDir, 'nan.onnx'), classifierModel(classifier.weights, { poison: 'nan' }).bytes);
    await writeFile(join(workDir, 'degraded.onnx'), fixtures.degradedClassifier.model.bytes);
    await writeFile(join(workDir, 'eval.jsonl'), jsonLines(classifier.evaluation));
    await writeFile(join(workDir, 'train.jsonl'), jsonLines(classifier.training));
    await writeFile(join(workDir, 'reference.jsonl'), jsonLines(classifier.reference));
    await writeFile(join(workDir, 'schema.json'), JSON.stringify(classifier.model.schema));
    await writeFile(join(workDir, 'metrics.json'), JSON.stringify({ accuracy: classifier.accuracy }));
    await writeFile(join(workDir, 'mode.onnx'), modeScalarModel().bytes);
    await writeFile(join(workDir, 'examples.jsonl'), jsonLines([modeScalarExample(1), modeScalarExample(2)]));
    await writeFile(join(workDir, 'bad-policy.json'), JSON.stringify({ stages: { registered: { checks: { no_such_check: {} } } } }));
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  it('passes a trained classifier directory, exits 0 and writes the JSON and Markdown reports', async () => {
    const result = await gatehouse(
      'validate',
      'good',
      '--task',
      'classification',
      '--dataset',
      'eval.jsonl',
      '--training',
      'train.jsonl',
      '--reference',
      'reference.jsonl',
      '--schema',
      'schema.json',
      '--metrics',
      'metrics.json',
      '--output',
      'report.json',
      '--markdown',
      'report.md',
    );
    // Only the line saying what runs: nothing went wrong.
    expect(result.stderr).toMatch(/^validating good: the registered gate for a classification model, \d+ checks, in a sandbox \([^)]*\)\n$/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PASSED (health 100)');
    expect(result.stdout).toMatch(/evaluation\s+critical\s+passed/);

    const report = JSON.parse(await readFile(join(workDir, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ verdict: 'passed', stage: 'registered', failedChecks: [], healthScore: 100 });
    const evaluation = report.results.find((r: { id: string }) => r.id === 'evaluation');
    expect(evaluation.value).toBeCloseTo(classifier.accuracy, 6);
    expect(report.results.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(['train_accuracy', 'output_consistency', 'latency', 'reported_metrics']));
    expect(await readFile(join(workDir, 'report.md'), 'utf8')).toContain('**Verdict: PASSED**');
  });

  it('exits 1 naming the poisoned weight when a critical check fails', async () => {
    const result = await gatehouse('validate', 'nan.onnx', '--task', 'classification', '--dataset', 'eval.jsonl');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED');
    expect(result.stdout).toContain('refused by: weights_finite');
    expect(result.stdout).toMatch(/dense\.weight.*NaN/);
  });

  it("runs a stage's checks from the policy and prints JSON for scripts", async () => {
    const result = await gatehouse('--json', 'validate', 'degraded.onnx', '--task', 'classification', '--dataset', 'eval.jsonl', '--stage', 'staging');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ verdict: 'failed', stage: 'staging' });
    expect(report.failedChecks).toContain('evaluation');
  });

  it('runs a model synthesised inputs cannot run on its input examples', async () => {
    const bare = await gatehouse('validate', 'mode.onnx');
    expect(bare.code).toBe(1);
    expect(bare.stdout).toContain('refused by: smoke_run');
    expect(bare.stdout).toContain('fails on synthesised inputs');
    const withExamples = await gatehouse('--json', 'validate', 'mode.onnx', '--input-example', 'examples.jsonl');
    const report = JSON.parse(withExamples.stdout);
    expect(report.results.find((result: { id: string }) => result.id === 'smoke_run')).toMatchObject({
      status: 'passed',
      message: expect.stringContaining('input examples examples.jsonl (2 examples'),
    });
    expect(withExamples.code).toBe(0);
  });

  it('refuses an unusable policy or target with a usage error listing the problem', async () => {
    const policy = await gatehouse('validate', 'good', '--policy', 'bad-policy.json');
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain('no_such_check');
    const missing = await gatehouse('validate', 'no-such-model.onnx');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read no-such-model.onnx');
  });
});

/** How long a gate may run in the suite below: long enough for any sound model's, and for the CLI to find the endless one running. */
const ENDLESS_GATE_SECONDS = 20;

describe("gatehouse gate (a registered version's latest report)", () => {
  let registry: TestRegistry;
  let workDir: string;
  let env: Record<string, string>;
  const gatehouse = (...argv: string[]) => runCaptured(argv, env, workDir);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-gate-'));
    // The default policy with a timeout short enough for a model that never finishes to fail its gate soon.
    const policy = JSON.parse(await readFile(DEFAULT_GATE_POLICY_FILE, 'utf8'));
    await writeFile(join(workDir, 'gates.json'), JSON.stringify({ ...policy, settings: { ...policy.settings, timeoutSeconds: ENDLESS_GATE_SECONDS } }));
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50', GATE_POLICY: join(workDir, 'gates.json') });
    env = { HOME: workDir, GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: registry.adminToken };
  });
  afterAll(async () => {
    await registry?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('shows the registration gate of a committed version as a table and as Markdown', async () => {
    const committed = await registerVersion(registry.admin, {
      model: 'blobs',
      version: '1.0.0',
      task: 'classification',
      files: { 'model.onnx': classifier.model.bytes },
      schema: classifier.model.schema,
      datasets: [{ role: 'evaluation', name: 'blobs-eval', content: jsonLines(classifier.evaluation) }],
    });
    expect(committed.status).toBe(200);
    const run = await finishedGate(registry.admin, 'blobs', '1.0.0');

    const table = await gatehouse('gate', 'blobs@1.0.0');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('blobs@1.0.0 → registered: PASSED');
    expect(table.stdout).toMatch(/evaluation\s+critical\s+passed/);

    const markdown = await gatehouse('gate', 'blobs@1.0.0', '--markdown');
    expect(markdown.stdout).toContain('# Gate report: blobs@1.0.0 → registered');

    const json = await gatehouse('--json', 'gate', 'blobs@1.0.0');
    expect(JSON.parse(json.stdout)).toMatchObject({ id: run.id, status: 'passed' });

    const otherStage = await gatehouse('gate', 'blobs@1.0.0', '--stage', 'production');
    expect(otherStage.code).toBe(2);
    expect(otherStage.stderr).toContain('blobs@1.0.0 has no gate runs for stage production');
    const unknown = await gatehouse('gate', 'blobs@9.9.9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('version_not_found');
  });

  it('registers --input-example as a dataset of role example, and the gate runs the model on it', async () => {
    await mkdir(join(workDir, 'vad'));
    await writeFile(join(workDir, 'vad', 'model.onnx'), modeScalarModel().bytes);
    await writeFile(join(workDir, 'examples.jsonl'), jsonLines([modeScalarExample(1)]));
    const registered = await gatehouse('register', 'vad', '--model', 'vad', '--version', '1.0.0', '--create-model', '--input-example', 'examples.jsonl');
    expect(registered.stderr).toContain('registered input examples as vad-input-examples@1.0.0');
    expect(registered.code).toBe(0);
    const version = (await registry.admin.get('/v1/models/vad/versions/1.0.0')).body;
    expect(version.datasets).toEqual([expect.objectContaining({ name: 'vad-input-examples', version: '1.0.0', role: 'example' })]);
    const run = await finishedGate(registry.admin, 'vad', '1.0.0');
    const smoke = run.report.results.find((result: { id: string }) => result.id === 'smoke_run');
    expect(smoke).toMatchObject({ status: 'passed', message: expect.stringContaining('input examples vad-input-examples') });
  });

  describe('register --wait and gate --wait', () => {
    beforeAll(async () => {
      await writeFile(join(workDir, 'eval.jsonl'), jsonLines(classifier.evaluation));
      await writeFile(join(workDir, 'schema.json'), JSON.stringify(classifier.model.schema));
      for (const [name, bytes] of Object.entries({ sound: classifier.model.bytes, poisoned: classifierModel(classifier.weights, { poison: 'nan' }).bytes })) {
        await mkdir(join(workDir, name));
        await writeFile(join(workDir, name, 'model.onnx'), bytes);
      }
      expect((await gatehouse('datasets', 'add', 'eval.jsonl', '--name', 'waited-eval', '--version', '1')).code).toBe(0);
    });
    const register = (dir: string, ...extra: string[]) =>
      gatehouse(
        ...extra,
        'register',
        dir,
        '--model',
        'waited',
        '--version',
        dir === 'sound' ? '1.0.0' : '2.0.0',
        '--create-model',
        '--task',
        'classification',
        '--schema',
        'schema.json',
        '--dataset',
        'waited-eval@1:evaluation',
        '--wait',
      );

    it('waits for the registration gate of a sound model, showing its progress on stderr, and exits 0 once it is validated', async () => {
      const result = await register('sound');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('registered waited@1.0.0: 1 files');
      expect(result.stdout).toContain('status validated');
      expect(result.stdout).toContain('waited@1.0.0 → registered: PASSED');
      expect(result.stderr).toMatch(/^registered gate on waited@1\.0\.0: (queued|running)/m);
      expect((await registry.admin.get('/v1/models/waited/versions/1.0.0')).body.status).toBe('validated');
    });

    it('exits 1 naming weights_finite when the gate rejects a model with NaN weights, with only the JSON result on stdout', async () => {
      const result = await register('poisoned', '--json');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('error: the registered gate refused waited@2.0.0: weights_finite');
      const printed = JSON.parse(result.stdout);
      expect(printed).toMatchObject({ model: 'waited', version: '2.0.0', status: 'rejected', gateRun: { status: 'failed', failedChecks: ['weights_finite'] } });

      const shown = await gatehouse('gate', 'waited@2.0.0');
      expect(shown.code).toBe(1);
      expect(shown.stdout).toContain('refused by: weights_finite');
      expect(shown.stderr).toContain('the registered gate refused waited@2.0.0: weights_finite');
    });

    it('says where a register without --wait leaves its gate and how to follow it', async () => {
      const result = await gatehouse('register', 'sound', '--model', 'waited', '--version', '3.0.0', '--task', 'classification', '--schema', 'schema.json');
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('its registration gate is queued: gatehouse gate waited@3.0.0 --wait follows it until it decides');
      await finishedGate(registry.admin, 'waited', '3.0.0');
    });

    it('exits 1 on a gate still running, and with --wait follows it until it decides', async () => {
      const endless = endlessLoopModel();
      expect(
        (await registerVersion(registry.admin, { model: 'endless', version: '1.0.0', task: 'classification', files: { 'model.onnx': endless.bytes }, schema: endless.schema }))
          .status,
      ).toBe(200);
      // The run says which check it is in while it runs: the one that never ends.
      const running = await until(async () => {
        const { items } = (await registry.admin.get('/v1/models/endless/versions/1.0.0/gate-runs')).body;
        return items[0]?.status === 'running' && items[0].progress?.check === 'smoke_run' ? items[0] : undefined;
      }, 60_000);
      const { policy } = (await registry.admin.get(`/v1/gate-runs/${running.id}`)).body;
      expect(running.progress).toEqual({
        check: 'smoke_run',
        checksDone: policy.checks.findIndex((check: { id: string }) => check.id === 'smoke_run'),
        checksTotal: policy.checks.length,
        checkStartedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });

      const unfinished = await gatehouse('gate', 'endless@1.0.0');
      expect(unfinished.code).toBe(1);
      expect(unfinished.stdout).toContain('is running');
      expect(unfinished.stderr).toContain(
        'the registered gate on endless@1.0.0 is still running, so it has not passed; gatehouse gate endless@1.0.0 --wait follows it until it decides',
      );

      const followed = await gatehouse('gate', 'endless@1.0.0', '--wait');
      expect(followed.stderr).toMatch(/^registered gate on endless@1\.0\.0: running smoke_run \(check \d+ of \d+\), \d+s$/m);
      expect(followed.code).toBe(1);
      expect(followed.stdout).toContain('refused by: sandbox');
      expect(followed.stderr).toContain('error: the registered gate refused endless@1.0.0: sandbox');
      const run = await finishedGate(registry.admin, 'endless', '1.0.0');
      expect(run).toMatchObject({ status: 'failed', progress: null });
      expect(run.report.results.find((result: { id: string }) => result.id === 'sandbox').details).toMatchObject({ ending: 'timeout', during: 'smoke_run' });
    });
  });
});
