import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { modeScalarModel } from '../../../test/fixtures/input-models';
import { classifierModel, jsonLines, nanAtRuntimeModel, refusedModel, standardFixtures, truncated } from '../../../test/fixtures/onnx-models';
import { GATE_CHECKS } from './checks';
import { thresholdsFor, type Thresholds } from './check';
import { GateContext, type GateDataset, type GateSubject } from './gate-context';
import { GateEngine, type GateProgress } from './gate-engine';
import { renderMarkdown, type GateReport } from './gate-report';
import { DEFAULT_GATE_SETTINGS } from './gate-settings';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let workspace: string;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'gatehouse-engine-'));
});
afterEach(() => rm(workspace, { recursive: true, force: true }));

interface GateOptions {
  /** The version's files by path; model.onnx alone when `model` is given. */
  files?: Record<string, Uint8Array>;
  model?: Uint8Array;
  thresholds?: Record<string, Thresholds>;
  severities?: Record<string, 'critical' | 'warning'>;
  signature?: GateSubject['signature'];
  /** The evaluation dataset's lines; the classifier's evaluation examples unless given, none when null. */
  evaluation?: string | null;
  /** The training dataset's lines; none unless given. */
  training?: string;
  onProgress?: (progress: GateProgress) => void;
}

/** A whole gate over real files and an evaluation dataset, each check at its default severity unless told otherwise. */
async function gate(checks: string[], options: GateOptions): Promise<GateReport> {
  const files = options.files ?? (options.model ? { 'model.onnx': options.model } : {});
  for (const [path, bytes] of Object.entries(files)) await writeFile(join(workspace, path), bytes);
  const datasets: GateDataset[] = [];
  if (options.evaluation !== null) {
    await writeFile(join(workspace, 'evaluation.jsonl'), options.evaluation ?? jsonLines(classifier.evaluation));
    datasets.push({ role: 'evaluation', name: 'eval@1', path: join(workspace, 'evaluation.jsonl') });
  }
  if (options.training !== undefined) {
    await writeFile(join(workspace, 'training.jsonl'), options.training);
    datasets.push({ role: 'training', name: 'train@1', path: join(workspace, 'training.jsonl') });
  }
  const subject: GateSubject = {
    model: 'fraud',
    version: '1.0.0',
    task: 'classification',
    declaredSchema: classifier.model.schema,
    reportedMetrics: {},
    files: Object.entries(files).map(([path, bytes]) => ({ path, sha256: sha256(bytes), size: bytes.length })),
    signature: options.signature,
  };
  const context = new GateContext(subject, workspace, datasets, DEFAULT_GATE_SETTINGS);
  return new GateEngine(GATE_CHECKS).run(
    context,
    {
      stage: 'staging',
      task: 'classification',
      settings: DEFAULT_GATE_SETTINGS,
      checks: checks.map((id) => {
        const check = GATE_CHECKS.find((candidate) => candidate.id === id)!;
        return { id, severity: options.severities?.[id] ?? check.severity, thresholds: thresholdsFor(check, 'classification', options.thresholds?.[id]) };
      }),
    },
    options.onProgress,
  );
}

const statuses = (report: GateReport) => Object.fromEntries(report.results.map((result) => [result.id, result.status]));

describe('the health score and recommendations of a whole gate', () => {
  it('scores three failed critical checks of ten by the formula, each with its own advice', async () => {
    const report = await gate(
      ['files_intact', 'artifact_scan', 'size_limit', 'onnx_parses', 'weights_finite', 'model_loads', 'smoke_run', 'evaluation', 'latency', 'signature_trusted'],
      {
        model: fixtures.degradedClassifier.model.bytes,
        thresholds: { size_limit: { maxMiB: 0.0001 }, signature_trusted: { required: true } },
        signature: { present: false, ok: false },
      },
    );
    expect(report.results.filter((result) => result.status === 'failed').map((result) => result.id)).toEqual(['size_limit', 'evaluation', 'signature_trusted']);
    expect(report.summary).toEqual({ total: 10, passed: 7, warnings: 0, failed: 3, errors: 0, skipped: 0, blocked: 0 });
    // (7 + 0.5 × 0) / 10 × 100.
    expect(report.healthScore).toBe(70);
    expect(report).toMatchObject({ verdict: 'failed', failedChecks: ['size_limit', 'evaluation', 'signature_trusted'], blockedChecks: [] });
    expect(report.recommendations.map((entry) => entry.check)).toEqual(['size_limit', 'evaluation', 'signature_trusted']);
    expect(report.recommendations[1].recommendation).toMatch(/quality floor/);
  });

  it('counts the nine checks a failed onnx_parses blocks as failed, and advises on onnx_parses alone', async () => {
    const blocked = ['weights_finite', 'model_loads', 'schema_match', 'smoke_run', 'evaluation', 'train_accuracy', 'reported_metrics', 'output_consistency', 'latency'];
    // As staging runs them: the registration gate's artifact_scan, which refuses a truncated file too, is not run again.
    const report = await gate(['files_intact', 'size_limit', 'onnx_parses', ...blocked], { model: truncated(classifier.model.bytes) });
    expect(statuses(report)).toMatchObject({ files_intact: 'passed', size_limit: 'passed', onnx_parses: 'failed' });
    expect(report.blockedChecks).toEqual(blocked);
    for (const id of blocked) expect(report.results.find((result) => result.id === id)).toMatchObject({ status: 'skipped', blockedBy: 'onnx_parses' });
    expect(report.results.find((result) => result.id === 'model_loads')!.message).toBe('not run: onnx_parses did not pass');
    expect(report.results.find((result) => result.id === 'smoke_run')!.message).toBe('not run: model_loads could not run because onnx_parses did not pass');
    expect(report.summary).toMatchObject({ total: 12, passed: 2, failed: 1, skipped: 9, blocked: 9 });
    // 2 passed of 12 counted: were the blocked checks left out, it would read 2 of 3, 66.7.
    expect(report.healthScore).toBe(16.7);
    expect(report.failedChecks).toEqual(['onnx_parses']);
    expect(report.recommendations).toEqual([{ check: 'onnx_parses', recommendation: expect.stringMatching(/^The file is not an ONNX model, or was cut short/) }]);
    const markdown = renderMarkdown(report);
    expect(markdown.indexOf('### ❌ failed: `onnx_parses` (critical)')).toBeLessThan(markdown.indexOf('| check | severity |'));
    expect(markdown).toContain(`Not run because of it (9): ${blocked.map((id) => `\`${id}\``).join(', ')}.`);
    expect(markdown).toContain('| `smoke_run` | critical | ⛔ blocked by `onnx_parses` |');
  });

  it('runs nothing on NaN weights, so weights_finite is the one cause and the one advice', async () => {
    const report = await gate(['files_intact', 'onnx_parses', 'weights_finite', 'model_loads', 'smoke_run', 'evaluation', 'latency'], {
      model: classifierModel(classifier.weights, { poison: 'nan' }).bytes,
    });
    expect(report.failedChecks).toEqual(['weights_finite']);
    expect(report.blockedChecks).toEqual(['model_loads', 'smoke_run', 'evaluation', 'latency']);
    expect(report.recommendations.map((entry) => entry.check)).toEqual(['weights_finite']);
  });

  it('leaves checks out of the score that do not apply, and those that need one', async () => {
    // No ONNX file: onnx_parses does not apply, nor does anything that needs it.
    const report = await gate(['files_intact', 'onnx_parses', 'model_loads', 'evaluation'], {});
    expect(statuses(report)).toEqual({ files_intact: 'passed', onnx_parses: 'skipped', model_loads: 'skipped', evaluation: 'skipped' });
    expect(report.results.find((result) => result.id === 'model_loads')).toMatchObject({ message: 'not run: onnx_parses was skipped' });
    expect(report.results.some((result) => result.blockedBy)).toBe(false);
    expect(report).toMatchObject({ verdict: 'passed', healthScore: 100, blockedChecks: [], summary: { skipped: 3, blocked: 0 } });
  });

  it('refuses when a warning-severity check that errored keeps a critical one from running, naming it as the cause', async () => {
    // Two ONNX files, neither named model.onnx: no check can tell which to load.
    const report = await gate(['onnx_parses', 'model_loads'], {
      files: { 'a.onnx': classifier.model.bytes, 'b.onnx': classifier.model.bytes },
      severities: { onnx_parses: 'warning' },
    });
    expect(statuses(report)).toEqual({ onnx_parses: 'error', model_loads: 'skipped' });
    expect(report).toMatchObject({ verdict: 'failed', failedChecks: ['onnx_parses'], blockedChecks: ['model_loads'], healthScore: 0 });
    expect(report.recommendations).toEqual([{ check: 'onnx_parses', recommendation: 'Register the version with exactly one ONNX file, or name the one to serve model.onnx.' }]);
  });
});

describe('progress', () => {
  it('tells each check as it starts and as it finishes with its result, a blocked one too, in the policy order', async () => {
    const heard: GateProgress[] = [];
    const report = await gate(['files_intact', 'weights_finite', 'model_loads'], {
      model: classifierModel(classifier.weights, { poison: 'nan' }).bytes,
      onProgress: (progress) => heard.push(progress),
    });
    expect(heard.map(({ event, check, index, total }) => `${event} ${check} ${index}/${total}`)).toEqual([
      'started files_intact 0/3',
      'finished files_intact 0/3',
      'started weights_finite 1/3',
      'finished weights_finite 1/3',
      'started model_loads 2/3',
      'finished model_loads 2/3',
    ]);
    expect(heard.flatMap((progress) => (progress.event === 'finished' ? [progress.result] : []))).toEqual(report.results);
  });
});

describe('advice that fits the failure', () => {
  const adviceOf = async (id: string, options: GateOptions) => (await gate([id], options)).results[0].recommendation;

  it('onnx_parses tells a file that is no model from a protobuf that is not a whole one', async () => {
    expect(await adviceOf('onnx_parses', { model: truncated(classifier.model.bytes) })).toMatch(/^The file is not an ONNX model, or was cut short/);
    const graphless = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }] }).finish();
    expect(await adviceOf('onnx_parses', { model: graphless })).toMatch(/^The file is a protobuf but not a whole model/);
  });

  it('model_loads names an operator onnxruntime lacks apart from other refusals', async () => {
    expect(await adviceOf('model_loads', { model: refusedModel().bytes })).toMatch(/^onnxruntime has no kernel for an operator the graph uses/);
  });

  it('smoke_run advises declaring dimensions or registering an input example where synthesised inputs fail, naming the error, and on NaN otherwise', async () => {
    const synthesised = await adviceOf('smoke_run', { model: modeScalarModel().bytes, evaluation: null });
    expect(synthesised).toMatch(/^The model does not run on inputs synthesised from its metadata \(onnxruntime: .+\): declare its symbolic dimensions \(settings\.dimensions/);
    expect(synthesised).toContain('register input examples the model takes (a dataset with role example');
    expect(synthesised).not.toMatch(/NaN|float16/);
    const nan = await adviceOf('smoke_run', { model: nanAtRuntimeModel(classifier.weights).bytes });
    expect(nan).toMatch(/^NaN or Inf at run time usually comes from log, sqrt or division/);
    expect(nan).not.toMatch(/declare/);
  });

  it('evaluation tells a malformed or missing dataset from a model below the floor', async () => {
    const malformed = `${jsonLines(classifier.evaluation.slice(0, 2))}{"inputs": {"features": [1, 2]}, "label": 0}\n`;
    expect(await adviceOf('evaluation', { model: classifier.model.bytes, evaluation: malformed })).toMatch(/^Fix the dataset at the line the message names/);
    expect(await adviceOf('evaluation', { model: classifier.model.bytes, evaluation: null, thresholds: { evaluation: { required: true } } })).toMatch(
      /register the version with an evaluation dataset/,
    );
    expect(await adviceOf('evaluation', { model: fixtures.degradedClassifier.model.bytes })).toMatch(/quality floor/);
  });

  it('train_accuracy tells an empty training dataset from an underfit model', async () => {
    expect(await adviceOf('train_accuracy', { model: classifier.model.bytes, training: '' })).toMatch(/^The training dataset holds no examples/);
    expect(await adviceOf('train_accuracy', { model: fixtures.degradedClassifier.model.bytes, training: jsonLines(classifier.training.slice(0, 200)) })).toMatch(/underfits/);
  });
});
