import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GATE_POLICY_FILE } from '@gatehouse/config';
import {
  classifierModel,
  constantWeightsClassifierModel,
  jsonLines,
  nanAtRuntimeModel,
  refusedModel,
  standardFixtures,
  truncated,
  wrongSchema,
  type ModelFixture,
} from './fixtures/onnx-models';
import { batchMeanClassifierModel } from './fixtures/validation-models';
import { modeScalarExample, modeScalarModel } from './fixtures/input-models';
import type { ApiClient } from './support/api-client';
import { checkResult, finishedGate, registerVersion, type DatasetUpload } from './support/model-registration';
import { startRegistry, type Backend, type TestRegistry } from './support/registry';

/** The shipped policy with a 1 MiB size limit, so the oversize fixture can stay small. */
async function testPolicy(): Promise<string> {
  const policy = JSON.parse(await readFile(DEFAULT_GATE_POLICY_FILE, 'utf8'));
  policy.stages.registered.checks.size_limit = { thresholds: { maxMiB: 1 } };
  const path = join(tmpdir(), `gatehouse-gates-${process.pid}-${Date.now()}.json`);
  await writeFile(path, JSON.stringify(policy));
  return path;
}

/** The registration gate and on-demand gate runs, through HTTP, run unchanged against each backend. */
export function describeGates(backend: Backend): void {
  describe(`gates (${backend})`, () => {
    let registry: TestRegistry;
    let engineer: ApiClient;
    let reader: ApiClient;
    let policyFile: string;
    const fixtures = standardFixtures();
    const datasets: DatasetUpload[] = [
      { role: 'evaluation', name: 'blobs-eval', content: jsonLines(fixtures.classifier.evaluation) },
      { role: 'training', name: 'blobs-train', content: jsonLines(fixtures.classifier.training) },
      { role: 'reference', name: 'blobs-reference', content: jsonLines(fixtures.classifier.reference) },
    ];
    const register = (version: string, model: ModelFixture, extra: { schema?: unknown; metrics?: Record<string, number>; model?: string } = {}) =>
      registerVersion(engineer, {
        model: extra.model ?? 'iris-like',
        version,
        task: model.task,
        files: { 'model.onnx': model.bytes },
        schema: extra.schema ?? model.schema,
        metrics: extra.metrics,
        datasets: model.task === 'classification' ? datasets : [],
      });

    beforeAll(async () => {
      policyFile = await testPolicy();
      registry = await startRegistry(backend, { GATE_POLICY: policyFile, GATE_WORKERS: '1', GATE_POLL_MS: '50', GATE_LEASE_SECONDS: '5' });
      engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
      reader = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'auditor', roles: ['reader'] })).body.token);
    });
    afterAll(async () => {
      await registry?.close();
      await rm(policyFile, { force: true });
    });

    it('validates a trained classifier: loads, runs and evaluates the stored artifact, then audits the outcome', async () => {
      const committed = await register('1.0.0', fixtures.classifier.model, { metrics: { accuracy: fixtures.classifier.accuracy } });
      expect(committed.status).toBe(200);
      expect(['registered', 'validating', 'validated']).toContain(committed.body.status);

      const run = await finishedGate(reader, 'iris-like', '1.0.0');
      expect(run).toMatchObject({ stage: 'registered', trigger: 'commit', status: 'passed', attempts: 1, failedChecks: [] });
      const statuses = Object.fromEntries(run.report.results.map((result: { id: string; status: string }) => [result.id, result.status]));
      expect(statuses).toEqual({
        files_intact: 'passed',
        artifact_scan: 'passed',
        size_limit: 'passed',
        onnx_parses: 'passed',
        weights_finite: 'passed',
        architecture: 'passed',
        model_loads: 'passed',
        schema_match: 'passed',
        smoke_run: 'passed',
        batch_sizes: 'passed',
        evaluation: 'passed',
        train_accuracy: 'passed',
        reported_metrics: 'passed',
        output_consistency: 'passed',
        latency: 'passed',
      });
      expect(checkResult(run, 'evaluation').value).toBeCloseTo(fixtures.classifier.accuracy, 6);
      expect(checkResult(run, 'evaluation').details.measured.examples).toBe(fixtures.classifier.evaluation.length);
      expect(checkResult(run, 'latency').details.runs).toBeGreaterThanOrEqual(50);
      expect(checkResult(run, 'latency').details.benchmarks.map((benchmark: { batchSize: number }) => benchmark.batchSize)).toEqual([1, 64]);
      expect(checkResult(run, 'architecture').details).toMatchObject({ nodes: 3, parameters: 8 * 3 + 3, opTypes: { MatMul: 1, Add: 1, Softmax: 1 } });
      expect(run.report.healthScore).toBe(100);
      expect(run.report.resources.peakRssBytes).toBeGreaterThan(0);
      expect(run.report.resources.cpuTimeMs).toBeGreaterThan(0);

      const version = await reader.get('/v1/models/iris-like/versions/1.0.0');
      expect(version.body).toMatchObject({ status: 'validated', gate: { runId: run.id, stage: 'registered', status: 'passed', healthScore: 100 } });

      const markdown = await reader.get(`/v1/gate-runs/${run.id}/report.md`);
      expect(markdown.status).toBe(200);
      expect(markdown.headers.get('content-type')).toContain('text/markdown');
      expect(markdown.body.toString()).toContain('**Verdict: PASSED**');

      const audit = await reader.get('/v1/audit?subject=version:iris-like@1.0.0&limit=100');
      const actions = audit.body.items.map((event: { action: string }) => event.action);
      expect(actions).toEqual(expect.arrayContaining(['version.committed', 'gate.queued', 'gate.passed']));
      const passed = audit.body.items.find((event: { action: string }) => event.action === 'gate.passed');
      expect(passed.payload).toMatchObject({ gateRunId: run.id, stage: 'registered', versionStatus: 'validated' });
      expect((await reader.get('/v1/audit/verify')).body.ok).toBe(true);
    });

    // Object rows: jest passes array rows as positional arguments and, when a row is shorter than the
    // callback's parameter list, treats the last parameter as a `done` callback and waits for it.
    const broken: { name: string; model: () => ModelFixture; check: string; message: RegExp; schema?: unknown }[] = [
      {
        name: 'a NaN weight',
        model: () => classifierModel(fixtures.classifier.weights, { poison: 'nan' }),
        check: 'weights_finite',
        message: /dense\.weight.*1 NaN, first at index 5/,
      },
      { name: 'an Inf weight', model: () => classifierModel(fixtures.classifier.weights, { poison: 'inf' }), check: 'weights_finite', message: /dense\.weight.*1 Inf/ },
      {
        name: 'a NaN weight in a Constant node of the branch no run takes',
        model: () => constantWeightsClassifierModel(fixtures.classifier.weights, { poisonUntakenBranch: true }),
        check: 'weights_finite',
        message: /fallback\.weight.*Constant\): 1 NaN/,
      },
      { name: 'degraded accuracy', model: () => fixtures.degradedClassifier.model, check: 'evaluation', message: /accuracy 0\.\d+ is below 0\.85/ },
      {
        name: 'a wrong declared schema',
        model: () => fixtures.classifier.model,
        check: 'schema_match',
        message: /not in the model/,
        schema: wrongSchema(fixtures.classifier.model.schema),
      },
      { name: 'outputs that are NaN at run time', model: () => nanAtRuntimeModel(fixtures.classifier.weights), check: 'smoke_run', message: /NaN or Inf/ },
      {
        name: 'outputs that lose the batch dimension',
        model: () => batchMeanClassifierModel(fixtures.classifier.weights),
        // The smoke run's batch of 2 already shows it; batch_sizes, which needs a smoke run that passed, is blocked.
        check: 'smoke_run',
        message: /^synthesised inputs: output "probabilities" has shape \[1,3\]/,
      },
      { name: 'a sampler whose samples explode', model: () => fixtures.explodingGenerative.model, check: 'sample_quality', message: /^0 of 16 samples sound/ },
      {
        name: 'an oversize artifact',
        model: () => classifierModel(fixtures.classifier.weights, { paddingBytes: 2_000_000 }),
        check: 'size_limit',
        message: /over the 1 MiB limit/,
      },
      { name: 'a model onnxruntime refuses', model: () => refusedModel(), check: 'model_loads', message: /onnxruntime refused the model/ },
      {
        name: 'a truncated file',
        model: () => ({ ...fixtures.classifier.model, bytes: truncated(fixtures.classifier.model.bytes) }),
        check: 'onnx_parses',
        message: /not a valid ONNX protobuf/,
      },
    ];
    it.each(broken)('rejects $name, naming the check that refused it', async ({ name, model, check, message, schema }) => {
      const version = `2.${broken.findIndex((row) => row.name === name)}.0`;
      expect((await register(version, model(), { schema })).status).toBe(200);
      const run = await finishedGate(reader, 'iris-like', version);
      expect(run.status).toBe('failed');
      expect(run.failedChecks).toContain(check);
      expect(checkResult(run, check).message).toMatch(message);
      expect(run.report.recommendations.map((r: { check: string }) => r.check)).toContain(check);
      expect((await reader.get(`/v1/models/iris-like/versions/${version}`)).body.status).toBe('rejected');
      const audit = await reader.get(`/v1/audit?subject=version:iris-like@${version}&action=gate.failed`);
      expect(audit.body.items[0].payload).toMatchObject({ gateRunId: run.id, versionStatus: 'rejected', failedChecks: expect.arrayContaining([check]) });
    });

    const sound: { name: string; model: () => ModelFixture }[] = [
      { name: 'weights kept in Constant nodes inside If branches', model: () => constantWeightsClassifierModel(fixtures.classifier.weights) },
      { name: 'infinite Clip bounds', model: () => classifierModel(fixtures.classifier.weights, { infiniteClip: true }) },
    ];
    it.each(sound)('validates a sound model with $name', async ({ name, model }) => {
      const version = `5.${sound.findIndex((row) => row.name === name)}.0`;
      expect((await register(version, model())).status).toBe(200);
      const run = await finishedGate(reader, 'iris-like', version);
      expect(run).toMatchObject({ status: 'passed', failedChecks: [] });
      expect(checkResult(run, 'weights_finite').status).toBe('passed');
    });

    it('runs a model on its input examples (role example), which synthesised inputs cannot run', async () => {
      const vad = modeScalarModel();
      const bare = await registerVersion(engineer, { model: 'vad', version: '1.0.0', task: 'other', files: { 'model.onnx': vad.bytes } });
      expect(bare.status).toBe(200);
      const refused = await finishedGate(reader, 'vad', '1.0.0');
      expect(refused).toMatchObject({ status: 'failed', failedChecks: ['smoke_run'] });
      expect(checkResult(refused, 'smoke_run').message).toContain('fails on synthesised inputs');
      const examples = { role: 'example', name: 'vad-examples', content: jsonLines([modeScalarExample(1), modeScalarExample(0.5)]) } as const;
      expect((await registerVersion(engineer, { model: 'vad', version: '1.0.1', task: 'other', files: { 'model.onnx': vad.bytes }, datasets: [examples] })).status).toBe(200);
      const passed = await finishedGate(reader, 'vad', '1.0.1');
      expect(checkResult(passed, 'smoke_run')).toMatchObject({ status: 'passed', message: expect.stringContaining('input examples vad-examples@1 (2 examples') });
      expect(checkResult(passed, 'latency').details.benchmarks[0].inputs).toBe('input examples vad-examples@1 (line 1)');
      expect(passed).toMatchObject({ status: 'passed', failedChecks: [] });
    });

    it("runs a stage's gate on demand without touching the version's status", async () => {
      await register('3.0.0', fixtures.classifier.model);
      await finishedGate(reader, 'iris-like', '3.0.0');
      const requested = await engineer.post('/v1/models/iris-like/versions/3.0.0/gate-runs', { stage: 'staging' });
      expect(requested.status).toBe(202);
      expect(requested.body).toMatchObject({ stage: 'staging', trigger: 'request', status: 'queued', requestedBy: 'engineer' });
      expect(requested.body.policy.checks.find((c: { id: string }) => c.id === 'evaluation').thresholds.required).toBe(true);
      const run = await finishedGate(reader, 'iris-like', '3.0.0');
      expect(run).toMatchObject({ id: requested.body.id, stage: 'staging', status: 'passed' });
      expect((await reader.get('/v1/models/iris-like/versions/3.0.0')).body.status).toBe('validated');
      const listed = await reader.get('/v1/models/iris-like/versions/3.0.0/gate-runs');
      expect(listed.body.items.map((item: { stage: string }) => item.stage)).toEqual(['staging', 'registered']);
    });

    it('refuses gates on uncommitted versions, unknown stages, unknown runs and readers', async () => {
      await engineer.post('/v1/models/iris-like/versions', { version: '4.0.0', task: 'classification' });
      const pending = await engineer.post('/v1/models/iris-like/versions/4.0.0/gate-runs', { stage: 'staging' });
      expect(pending.status).toBe(409);
      expect(pending.body.error).toBe('version_not_committed');
      const badStage = await engineer.post('/v1/models/iris-like/versions/1.0.0/gate-runs', { stage: 'nightly' });
      expect(badStage.status).toBe(400);
      expect(badStage.body.details.fields[0].field).toBe('stage');
      expect((await reader.post('/v1/models/iris-like/versions/1.0.0/gate-runs', { stage: 'staging' })).status).toBe(403);
      expect((await reader.get('/v1/gate-runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
      expect((await reader.get('/v1/gate-runs/not-a-uuid')).status).toBe(404);
      expect((await reader.get('/v1/models/iris-like/versions/9.9.9/gate-runs')).status).toBe(404);
    });
  });
}
