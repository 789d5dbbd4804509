import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, standardFixtures, wrongSchema, type IoSchema, type ModelFixture } from './fixtures/onnx-models';
import { classifierWithLogitsModel } from './fixtures/regression-models';
import type { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { checkResult, finishedGate, registerVersion, trustedSigningKey } from './support/model-registration';
import { promoteAndSettle } from './support/promotion-flow';
import { startRegistry, type Backend, type TestRegistry } from './support/registry';

/**
 * A version registered without a schema gets the one its ONNX model declares,
 * stored as inferred by its registration gate; gates hold a declared schema
 * to the model and compare either kind with production. Through HTTP and the
 * CLI, unchanged against each backend.
 */
export function describeSchemaInference(backend: Backend): void {
  describe(`schema inference (${backend})`, () => {
    let registry: TestRegistry;
    let engineer: ApiClient;
    let approvers: ApiClient[];
    let releaseKey: KeyObject;
    let workDir: string;
    const fixtures = standardFixtures();
    const classifier = fixtures.classifier.model;

    beforeAll(async () => {
      registry = await startRegistry(backend, { GATE_WORKERS: '1', GATE_POLL_MS: '50' });
      releaseKey = await trustedSigningKey(registry.admin, 'release');
      const token = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
      engineer = await token('engineer', ['ml_engineer']);
      approvers = [await token('approver-a', ['approver']), await token('approver-b', ['approver'])];
      workDir = await mkdtemp(join(tmpdir(), 'gatehouse-schema-inference-'));
    });
    afterAll(async () => {
      await registry?.close();
      await rm(workDir, { recursive: true, force: true });
    });

    /** Registers a signed version of `typed` (the schema left out unless given) and waits for its registration gate. */
    const register = async (version: string, model: ModelFixture, schema?: IoSchema) => {
      const committed = await registerVersion(engineer, {
        model: 'typed',
        version,
        task: model.task,
        files: { 'model.onnx': model.bytes },
        schema,
        datasets: [{ role: 'evaluation', name: 'typed-eval', content: jsonLines(fixtures.classifier.evaluation) }],
        signWith: releaseKey,
      });
      expect(committed.status).toBe(200);
      return finishedGate(engineer, 'typed', version);
    };
    const show = async (version: string) => (await engineer.get(`/v1/models/typed/versions/${version}`)).body;
    /** Promotes `typed@version` until it settles; returns the promotion with its gate run. */
    const promote = async (version: string, stage: 'staging' | 'canary' | 'production') => {
      const promotion = await promoteAndSettle(engineer, approvers, { model: 'typed', version }, stage);
      return { promotion, run: (await engineer.get(`/v1/gate-runs/${promotion.gateRunId}`)).body };
    };

    /**
     * Why a promotion was not completed, or undefined when it was: the
     * promotion's outcome, its gate run's status and error, and each check
     * that failed or errored with the figures it decided on, for a failing
     * expectation to print.
     */
    const refusalOf = ({ promotion, run }: { promotion: any; run: any }) =>
      promotion.status === 'completed'
        ? undefined
        : {
            promotion: { status: promotion.status, outcome: promotion.outcome },
            gateRun: { status: run.status, error: run.error },
            refusedBy: ((run.report?.results ?? []) as any[])
              .filter((result) => result.status === 'failed' || result.status === 'error')
              .map(({ id, status, value, threshold, message, details }) => ({ id, status, value, threshold, message, details })),
          };

    it('stores the schema a version without one was registered with as inferred, and staging takes it as the schema it requires', async () => {
      const registered = await register('1.0.0', classifier);
      expect(registered.status).toBe('passed');
      expect(checkResult(registered, 'schema_match')).toMatchObject({
        status: 'passed',
        message: 'no schema declared; inferred from the model: 1 input (features float32 ["batch",8]); 1 output (probabilities float32 ["batch",3])',
      });
      const version = await show('1.0.0');
      expect(version).toMatchObject({ status: 'validated', schemaSource: 'inferred', schema: classifier.schema });
      expect(version.schema.inputs[0].shape).toEqual(['batch', 8]);

      const staging = await promote('1.0.0', 'staging');
      expect(staging.promotion.status).toBe('completed');
      expect(staging.run.policy.checks.find((check: { id: string }) => check.id === 'schema_match').thresholds.required).toBe(true);
      expect(checkResult(staging.run, 'schema_match')).toMatchObject({ status: 'passed', message: expect.stringContaining('no schema declared; inferred from the model') });

      const audit = (await engineer.get('/v1/audit?subject=version:typed@1.0.0&action=version.schema_inferred')).body.items;
      expect(audit).toEqual([expect.objectContaining({ actor: 'gatehouse:gate-worker', payload: { gateRunId: registered.id, inputs: ['features'], outputs: ['probabilities'] } })]);

      const cli = await runCaptured(['versions', 'show', 'typed@1.0.0'], { HOME: workDir, GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: registry.adminToken }, workDir);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/^schema: +inferred from the model: features float32 \[batch, 8\] → probabilities float32 \[batch, 3\]$/m);
    });

    it('infers once: a second gate on the version stores and audits nothing more', async () => {
      const again = await engineer.post('/v1/models/typed/versions/1.0.0/gate-runs', { stage: 'staging' });
      expect(again.status).toBe(202);
      const run = await finishedGate(engineer, 'typed', '1.0.0');
      expect(run).toMatchObject({ id: again.body.id, status: 'passed' });
      expect(checkResult(run, 'schema_match').message).toContain('no schema declared; inferred from the model');
      expect(await show('1.0.0')).toMatchObject({ schemaSource: 'inferred', schema: classifier.schema });
      expect((await engineer.get('/v1/audit?subject=version:typed@1.0.0&action=version.schema_inferred')).body.items).toHaveLength(1);
    });

    it('still holds a declared schema to the model, and keeps it as declared', async () => {
      const registered = await register('1.1.0', classifier, wrongSchema(classifier.schema));
      expect(registered).toMatchObject({ status: 'failed', failedChecks: expect.arrayContaining(['schema_match']) });
      expect(checkResult(registered, 'schema_match').message).toMatch(/model input "features" is not declared/);
      expect(await show('1.1.0')).toMatchObject({ status: 'rejected', schemaSource: 'declared', schema: wrongSchema(classifier.schema) });
    });

    it('compares an inferred schema with the declared one in production at canary, naming both', async () => {
      expect((await register('2.0.0', classifier, classifier.schema)).status).toBe('passed');
      expect((await show('2.0.0')).schemaSource).toBe('declared');
      for (const stage of ['staging', 'canary', 'production'] as const) expect((await promote('2.0.0', stage)).promotion.status).toBe('completed');

      expect((await register('2.1.0', classifier)).status).toBe('passed');
      expect((await promote('2.1.0', 'staging')).promotion.status).toBe('completed');
      const same = await promote('2.1.0', 'canary');
      // Identical bytes must never be refused; should they be, the failure prints why, down to the figures each refusing check decided on.
      expect(refusalOf(same)).toBeUndefined();
      expect(checkResult(same.run, 'contract_compat')).toMatchObject({
        status: 'passed',
        message: "inputs and outputs unchanged from production typed@2.0.0 (schemas compared: production's declared, the candidate's inferred from its model)",
        details: { baseline: { schemaSource: 'declared' }, candidate: { schemaSource: 'inferred' } },
      });

      const withLogits = classifierWithLogitsModel(fixtures.classifier.weights);
      expect((await register('2.2.0', withLogits)).status).toBe('passed');
      expect(await show('2.2.0')).toMatchObject({ schemaSource: 'inferred', schema: withLogits.schema });
      expect((await promote('2.2.0', 'staging')).promotion.status).toBe('completed');
      const changed = await promote('2.2.0', 'canary');
      expect(changed.promotion).toMatchObject({ status: 'rejected', outcome: { failedChecks: ['contract_compat'] } });
      expect(checkResult(changed.run, 'contract_compat').message).toBe(
        'the input/output contract changed from production typed@2.0.0 under a minor bump 2.0.0 → 2.2.0, and a change needs a major version bump' +
          ' (schemas compared: production\'s declared, the candidate\'s inferred from its model): added output "logits"',
      );
    });
  });
}
