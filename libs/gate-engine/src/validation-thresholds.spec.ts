import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { classifierModel, standardFixtures } from '../../../test/fixtures/onnx-models';
import { GATE_CHECKS } from './checks';
import { GateContext } from './gate-context';
import { GateEngine } from './gate-engine';
import { GatePolicy, type StagePolicy } from './gate-policy';
import { DEFAULT_GATE_SETTINGS } from './gate-settings';
import { applyValidationThresholds, loadValidationThresholds, parseValidationThresholds, ValidationThresholdsError, type ValidationThresholds } from './validation-thresholds';

const shippedThresholds = resolve(__dirname, '../../../config/validation.json');
const shippedPolicy = GatePolicy.load(resolve(__dirname, '../../../config/gates.json'), GATE_CHECKS);
const classifier = standardFixtures().classifier;

const problemsOf = (json: unknown): string[] => {
  try {
    parseValidationThresholds(json, GATE_CHECKS, 'validation.json');
  } catch (error) {
    if (error instanceof ValidationThresholdsError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
};

const thresholdsOf = (policy: StagePolicy, id: string) => policy.checks.find((check) => check.id === id)?.thresholds;

describe('the flat thresholds file', () => {
  it('reads the shipped config/validation.json, the brief’s thresholds', () => {
    expect(loadValidationThresholds(shippedThresholds, GATE_CHECKS)).toEqual({
      min_val_accuracy: 0.85,
      min_train_accuracy: 0.8,
      max_model_size_mb: 100,
      check_nan_weights: true,
      check_inf_weights: true,
      max_final_loss: 0.5,
      min_sample_quality: 0.9,
    });
  });

  it('names an unknown key with the keys there are, and every wrong value at once', () => {
    expect(problemsOf({ min_val_acc: 0.9, check_nan_weights: 'yes', min_val_accuracy: 1.5, max_model_size_mb: '100' })).toEqual([
      'min_val_acc: unknown key (known: min_val_accuracy, min_train_accuracy, max_model_size_mb, check_nan_weights, check_inf_weights, max_final_loss, min_sample_quality)',
      'check_nan_weights: must be true or false, not "yes"',
      'min_val_accuracy: must be at most 1, not 1.5',
      'max_model_size_mb: must be a number, not "100"',
    ]);
    expect(problemsOf([0.9])[0]).toMatch(/^must be a JSON object of thresholds \(keys: min_val_accuracy, /);
  });

  it('says which file it cannot read or parse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-thresholds-'));
    try {
      await writeFile(join(dir, 'broken.json'), '{"min_val_accuracy": ');
      expect(() => loadValidationThresholds(join(dir, 'broken.json'), GATE_CHECKS)).toThrow(/broken\.json is invalid:\n {2}- not valid JSON/);
      expect(() => loadValidationThresholds(join(dir, 'absent.json'), GATE_CHECKS)).toThrow(/absent\.json is invalid:\n {2}- cannot read it: ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("sets each key on its check's threshold over the stage's policy, leaving the rest as the policy has them", () => {
    const thresholds: ValidationThresholds = { min_val_accuracy: 0.99, min_train_accuracy: 0.9, max_model_size_mb: 5, check_inf_weights: false };
    const stage = shippedPolicy.resolve('registered', 'classification');
    const applied = applyValidationThresholds(stage, thresholds);
    expect(thresholdsOf(applied, 'evaluation')).toEqual({ ...thresholdsOf(stage, 'evaluation'), minAccuracy: 0.99 });
    expect(thresholdsOf(applied, 'train_accuracy')).toEqual({ minAccuracy: 0.9 });
    expect(thresholdsOf(applied, 'size_limit')).toEqual({ maxMiB: 5 });
    expect(thresholdsOf(applied, 'weights_finite')).toEqual({ failOnNaN: true, failOnInf: false });
    expect(applied.checks.filter((check) => !['evaluation', 'train_accuracy', 'size_limit', 'weights_finite'].includes(check.id))).toEqual(
      stage.checks.filter((check) => !['evaluation', 'train_accuracy', 'size_limit', 'weights_finite'].includes(check.id)),
    );
    expect(stage.checks.find((check) => check.id === 'evaluation')?.thresholds.minAccuracy).toBe(0.85);
  });

  it("sets a generative model's final loss and sample quality, and the size limit over its task default", () => {
    const applied = applyValidationThresholds(shippedPolicy.resolve('registered', 'generative'), { max_final_loss: 0.2, min_sample_quality: 0.5, max_model_size_mb: 120 });
    expect(thresholdsOf(applied, 'final_loss')).toEqual({ maxLoss: 0.2 });
    expect(thresholdsOf(applied, 'sample_quality')).toMatchObject({ minSampleQuality: 0.5, samples: 16 });
    expect(thresholdsOf(applied, 'size_limit')).toEqual({ maxMiB: 120 });
  });
});

describe('check_nan_weights and check_inf_weights on weights_finite', () => {
  let workspace: string;
  beforeEach(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'gatehouse-weights-'));
  });
  afterEach(() => rm(workspace, { recursive: true, force: true }));

  const weightsFinite = async (poison: 'nan' | 'inf', thresholds: ValidationThresholds) => {
    const bytes = classifierModel(classifier.weights, { poison }).bytes;
    await writeFile(join(workspace, 'model.onnx'), bytes);
    const subject = {
      model: 'm',
      version: '1.0.0',
      task: 'classification' as const,
      declaredSchema: null,
      reportedMetrics: {},
      files: [{ path: 'model.onnx', sha256: null, size: bytes.length }],
    };
    const policy = applyValidationThresholds(
      {
        stage: 'registered',
        task: 'classification',
        settings: DEFAULT_GATE_SETTINGS,
        checks: [{ id: 'weights_finite', severity: 'critical', thresholds: { failOnNaN: true, failOnInf: true } }],
      },
      thresholds,
    );
    const report = await new GateEngine(GATE_CHECKS).run(new GateContext(subject, workspace, [], DEFAULT_GATE_SETTINGS), policy);
    return report.results[0];
  };

  it('fails a NaN or an Inf feeding weight arithmetic while both are on', async () => {
    expect(await weightsFinite('nan', { check_nan_weights: true, check_inf_weights: true })).toMatchObject({ status: 'failed', message: expect.stringMatching(/1 NaN/) });
    expect(await weightsFinite('inf', { check_nan_weights: true, check_inf_weights: true })).toMatchObject({ status: 'failed', message: expect.stringMatching(/1 Inf/) });
  });

  it('warns, naming the tensor, where the kind found is turned off, and still fails on the kind left on', async () => {
    expect(await weightsFinite('inf', { check_inf_weights: false })).toMatchObject({
      status: 'warning',
      value: 1,
      message: expect.stringMatching(/^dense\.weight \(main\): 1 Inf, first at index 5, feeding MatMul .* \(not failed: the policy turns failOnInf off\)$/),
    });
    expect(await weightsFinite('nan', { check_nan_weights: false })).toMatchObject({ status: 'warning', message: expect.stringContaining('1 NaN') });
    expect((await weightsFinite('nan', { check_inf_weights: false })).status).toBe('failed');
    expect((await weightsFinite('inf', { check_nan_weights: false })).status).toBe('failed');
  });
});
