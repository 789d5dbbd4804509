import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { classifierModel, jsonLines, standardFixtures } from './fixtures/onnx-models';
import { runCaptured } from './support/cli-runner';
import { checkResult, finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;
/** A classifier evaluated on its held-out examples. */
const evaluated = ['--task', 'classification', '--dataset', 'eval.jsonl'];
const everyCheck = ['files_intact', 'browser_compat', 'signature_trusted', 'contract_compat', 'baseline_latency', 'final_loss', 'sample_quality', 'evaluation'];

interface ReportResult {
  id: string;
  status: string;
  severity: string;
  message: string;
}

describe("gatehouse validate with the brief's CI flags", () => {
  let workDir: string;
  const gatehouse = (...argv: string[]) => runCaptured(argv, { HOME: workDir }, workDir);
  const report = async (file: string) => JSON.parse(await readFile(join(workDir, file), 'utf8')) as { verdict: string; failedChecks: string[]; results: ReportResult[] };
  const thresholds = (name: string, values: Record<string, unknown>) => writeFile(join(workDir, name), JSON.stringify(values));

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-validate-'));
    await mkdir(join(workDir, 'config'));
    await copyFile(resolve(__dirname, '../config/validation.json'), join(workDir, 'config', 'validation.json'));
    await writeFile(join(workDir, 'model.onnx'), classifier.model.bytes);
    await writeFile(join(workDir, 'inf.onnx'), classifierModel(classifier.weights, { poison: 'inf' }).bytes);
    await writeFile(join(workDir, 'eval.jsonl'), jsonLines(classifier.evaluation));
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  it('runs the CI command as the brief writes it: every check, each printed as it finishes, the JSON report written, exit 0', async () => {
    const result = await gatehouse('validate', 'model.onnx', '--thresholds', 'config/validation.json', '--check-all', '--output', 'report.json', '--verbose', ...evaluated);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('model.onnx@local → registered: PASSED');
    const written = await report('report.json');
    expect(written.verdict).toBe('passed');
    const ids = written.results.map((entry) => entry.id);
    expect(ids).toEqual(expect.arrayContaining(everyCheck));
    const total = ids.length;
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`validating model.onnx: the registered gate for a classification model, ${total} checks, in a sandbox (4096 MiB, at most 600 s)`);
    // One line per check, in the order they ran, each with its outcome and its message.
    expect(lines.slice(1)).toHaveLength(total);
    written.results.forEach((entry, index) => expect(lines[index + 1]).toMatch(new RegExp(`^\\[ ?${index + 1}/${total}\\] ${entry.id}: ${entry.status} in \\d+\\.\\d+ s: `)));
    expect(lines.find((line) => line.includes('] evaluation: '))).toContain(`accuracy ${classifier.accuracy.toFixed(4)}`);
    // Checks the stage does not run report as warnings; those for other tasks say why they do not apply.
    expect(written.results.find((entry) => entry.id === 'browser_compat')?.severity).toBe('warning');
    expect(written.results.find((entry) => entry.id === 'final_loss')).toMatchObject({ status: 'skipped', message: 'not run: final_loss does not apply to classification models' });
    expect(written.results.find((entry) => entry.id === 'signature_trusted')?.status).toBe('skipped');
  });

  it("sets the file's thresholds on the stage's checks: min_val_accuracy 0.99 refuses the model that passes at 0.85", async () => {
    expect(classifier.accuracy).toBeGreaterThan(0.85);
    expect(classifier.accuracy).toBeLessThan(0.99);
    await thresholds('strict.json', { min_val_accuracy: 0.99 });
    const strict = await gatehouse('validate', 'model.onnx', '--thresholds', 'strict.json', ...evaluated, '--output', 'strict-report.json');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('refused by: evaluation');
    expect((await report('strict-report.json')).results.find((entry) => entry.id === 'evaluation')).toMatchObject({ status: 'failed', threshold: 0.99 });
    const shipped = await gatehouse('validate', 'model.onnx', '--thresholds', 'config/validation.json', ...evaluated);
    expect(shipped.code).toBe(0);
  });

  it('turns weights_finite into a warning naming the infinite weight with check_inf_weights false; running the model still finds it', async () => {
    const refused = await gatehouse('validate', 'inf.onnx', '--thresholds', 'config/validation.json');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('refused by: weights_finite');
    await thresholds('inf-allowed.json', { check_inf_weights: false });
    const allowed = await gatehouse('--json', 'validate', 'inf.onnx', '--thresholds', 'inf-allowed.json');
    const json = JSON.parse(allowed.stdout) as { failedChecks: string[]; results: ReportResult[] };
    expect(json.results.find((entry) => entry.id === 'weights_finite')).toMatchObject({ status: 'warning', message: expect.stringContaining('dense.weight (main): 1 Inf') });
    // The infinity reaches the outputs, which the smoke run refuses.
    expect(json.failedChecks).toEqual(['smoke_run']);
    expect(allowed.code).toBe(1);
  });

  it('refuses an unknown key or a wrong value with exit 2, naming each and the keys there are, before running anything', async () => {
    await thresholds('typo.json', { min_val_acc: 0.9, check_nan_weights: 'yes' });
    const result = await gatehouse('validate', 'model.onnx', '--thresholds', 'typo.json', '--output', 'typo-report.json');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`usage: thresholds file ${join(workDir, 'typo.json')} is invalid:`);
    expect(result.stderr).toContain(
      'min_val_acc: unknown key (known: min_val_accuracy, min_train_accuracy, max_model_size_mb, check_nan_weights, check_inf_weights, max_final_loss, min_sample_quality)',
    );
    expect(result.stderr).toContain('check_nan_weights: must be true or false, not "yes"');
    expect(result.stderr).not.toContain('validating');
    await expect(readFile(join(workDir, 'typo-report.json'))).rejects.toThrow(/ENOENT/);
  });

  it('reports a dataset given without a task that uses it as skipped, saying why and which flag to pass', async () => {
    const result = await gatehouse('validate', 'model.onnx', '--dataset', 'eval.jsonl', '--output', 'other-report.json');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/evaluation\s+critical\s+skipped\s+not run: task other has no metric to measure dataset eval\.jsonl \(evaluation\) on/);
    expect(result.stdout).toContain(
      'note: --dataset eval.jsonl was not evaluated: --task other has no metric to measure on it; pass --task classification, regression or generative',
    );
    expect((await report('other-report.json')).results.find((entry) => entry.id === 'evaluation')?.status).toBe('skipped');
  });

  it('says it started and what it runs without --verbose, and prints no line per check', async () => {
    const result = await gatehouse('validate', 'model.onnx', '--task', 'classification');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^validating model\.onnx: the registered gate for a classification model, \d+ checks, in a sandbox \(4096 MiB, at most 600 s\)\n$/);
  });

  it('refuses a report it cannot write with exit 2, naming the flag and the path', async () => {
    const result = await gatehouse('validate', 'model.onnx', '--output', 'no-such-dir/report.json');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`usage: cannot write --output ${join(workDir, 'no-such-dir', 'report.json')}: ENOENT`);
  });
});

describe('the registry gates a version of task other with an evaluation dataset by the same engine', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50' });
  });
  afterAll(() => registry?.close());

  it('reports the evaluation skipped with the reason, not passed', async () => {
    const committed = await registerVersion(registry.admin, {
      model: 'untasked',
      version: '1.0.0',
      task: 'other',
      files: { 'model.onnx': classifier.model.bytes },
      datasets: [{ role: 'evaluation', name: 'untasked-eval', content: jsonLines(classifier.evaluation) }],
    });
    expect(committed.status).toBe(200);
    const run = await finishedGate(registry.admin, 'untasked', '1.0.0');
    expect(checkResult(run, 'evaluation')).toMatchObject({
      status: 'skipped',
      message: expect.stringMatching(/^not run: task other has no metric to measure dataset untasked-eval@1 \(evaluation\) on, so it was not evaluated; give the model's task/),
    });
  });
});
