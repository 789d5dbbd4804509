import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifierModel, jsonLines, logOfInputsModel, standardFixtures, type ModelFixture } from '../../../../../test/fixtures/onnx-models';
import {
  classifierWithLogitsModel,
  renamedInputClassifierModel,
  sequenceOutputClassifierModel,
  shiftedRegressorModel,
  slowClassifierModel,
} from '../../../../../test/fixtures/regression-models';
import { modeScalarExample, modeScalarModel } from '../../../../../test/fixtures/input-models';
import { GATE_CHECKS } from '..';
import { thresholdsFor, type CheckResult, type Thresholds } from '../../check';
import { GateContext, type CanaryAnalysisStanding, type GateDataset, type GateSubject } from '../../gate-context';
import type { DatasetRole, IoSchema, Task } from '../../terms';
import { GateEngine } from '../../gate-engine';
import { DEFAULT_GATE_SETTINGS } from '../../gate-settings';
import { renderMarkdown, type GateReport } from '../../gate-report';
import { contractChanges } from './contract-compat.check';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REGRESSION_CHECKS = ['contract_compat', 'baseline_size', 'baseline_accuracy', 'baseline_latency', 'baseline_memory'];

interface Version {
  model: ModelFixture;
  version: string;
  /** The declared schema; the model's own unless told, null for none declared. */
  schema?: IoSchema | null;
}

interface Scenario {
  candidate: Version;
  /** The version in production; none when absent. */
  baseline?: Version & { problem?: string };
  datasets?: Partial<Record<DatasetRole, object[]>>;
  /** Datasets whose stored file could not be used, with why. */
  unusable?: Partial<Record<DatasetRole, string>>;
  thresholds?: Record<string, Thresholds>;
  /** The candidate's canary analyses as the registry would look them up; none offline. */
  canaryAnalysis?: CanaryAnalysisStanding;
}

let workspace: string;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'gatehouse-regression-'));
});
afterEach(() => rm(workspace, { recursive: true, force: true }));

async function subjectIn(directory: string, { model, version, schema }: Version): Promise<GateSubject> {
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'model.onnx'), model.bytes);
  return {
    model: 'fixture',
    version,
    task: model.task,
    declaredSchema: schema === undefined ? model.schema : schema,
    reportedMetrics: {},
    files: [{ path: 'model.onnx', sha256: sha256(model.bytes), size: model.bytes.length }],
  };
}

/** Runs checks through the engine as a gate would: candidate and production each in a directory of their own, the candidate's datasets. */
async function gate(ids: string[], scenario: Scenario): Promise<GateReport> {
  const datasets: GateDataset[] = [];
  for (const [role, rows] of Object.entries(scenario.datasets ?? {})) {
    const path = join(workspace, `${role}.jsonl`);
    await writeFile(path, jsonLines(rows));
    datasets.push({ role: role as DatasetRole, name: `${role}@1`, path });
  }
  for (const [role, problem] of Object.entries(scenario.unusable ?? {})) datasets.push({ role: role as DatasetRole, name: `${role}@1`, path: null, problem });
  const candidate = { ...(await subjectIn(join(workspace, 'candidate'), scenario.candidate)), canaryAnalysis: scenario.canaryAnalysis };
  const baseline = scenario.baseline && {
    subject: await subjectIn(join(workspace, 'baseline'), scenario.baseline),
    workspace: join(workspace, 'baseline'),
    problem: scenario.baseline.problem,
  };
  const task: Task = candidate.task;
  const context = new GateContext(candidate, join(workspace, 'candidate'), datasets, DEFAULT_GATE_SETTINGS, baseline);
  return new GateEngine(GATE_CHECKS).run(context, {
    stage: 'canary',
    task,
    settings: DEFAULT_GATE_SETTINGS,
    checks: ids.map((id) => {
      const check = GATE_CHECKS.find((candidateCheck) => candidateCheck.id === id)!;
      return { id, severity: check.severity, thresholds: thresholdsFor(check, task, scenario.thresholds?.[id]) };
    }),
  });
}

async function run(id: string, scenario: Scenario): Promise<CheckResult> {
  return (await gate([id], scenario)).results[0];
}

const production = { model: classifier.model, version: '1.0.0' };
const evaluation = { evaluation: classifier.evaluation };

describe('regression checks without a production version', () => {
  it('skip, saying there is none yet, and the report says so', async () => {
    const report = await gate(REGRESSION_CHECKS, { candidate: { model: classifier.model, version: '1.0.0' }, datasets: evaluation });
    for (const result of report.results) expect(result).toMatchObject({ status: 'skipped', message: 'there is no production version of fixture yet to compare with' });
    expect(report).toMatchObject({ verdict: 'passed', baseline: null });
    expect(renderMarkdown(report)).toContain('No version of fixture is in production yet');
  });

  it('skip when the candidate is the production version itself', async () => {
    const result = await run('baseline_accuracy', { candidate: production, baseline: production, datasets: evaluation });
    expect(result).toMatchObject({ status: 'skipped', message: 'fixture@1.0.0 is the production version itself: nothing to compare with' });
  });

  it("error, never pass, when production's stored files are unusable", async () => {
    const result = await run('baseline_size', {
      candidate: { model: classifier.model, version: '1.1.0' },
      baseline: { ...production, problem: 'model.onnx: stored bytes hash to something else' },
    });
    expect(result).toMatchObject({ status: 'error', message: expect.stringContaining('could not be compared with: model.onnx') });
  });
});

describe('a candidate the same as production', () => {
  it('passes every regression check, and the report puts both side by side', async () => {
    const report = await gate(REGRESSION_CHECKS, { candidate: { model: classifier.model, version: '1.0.1' }, baseline: production, datasets: evaluation });
    expect(Object.fromEntries(report.results.map((result) => [result.id, result.status]))).toEqual(Object.fromEntries(REGRESSION_CHECKS.map((id) => [id, 'passed'])));
    expect(report.baseline).toEqual({ model: 'fixture', version: '1.0.0' });
    const accuracy = report.results.find((result) => result.id === 'baseline_accuracy')!;
    expect(accuracy.details?.comparison).toEqual({
      metric: 'accuracy',
      baseline: classifier.accuracy,
      candidate: classifier.accuracy,
      ratio: 1,
      threshold: 0.95,
      bound: 'min',
      verdict: 'passed',
    });
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('## Compared with production fixture@1.0.0');
    expect(markdown).toContain('| check | metric | baseline | candidate | ratio | threshold | verdict |');
    expect(markdown).toMatch(/\| `baseline_accuracy` \| accuracy \| 0\.\d+ \| 0\.\d+ \| 1\.000× \| ≥ 0\.95× \| ✅ passed \|/);
    expect(markdown).toMatch(
      /\| `baseline_latency` \| p95 latency, CPU time \(ms\) \| .* \| \d\.\d{3}× \[\d\.\d{3}×, \d\.\d{3}×\] · speed-up \d\.\d{3}× \| ≤ 1\.1× \| ✅ passed \|/,
    );
    expect(markdown).toMatch(/\| `baseline_memory` \| memory growth \(MiB\) \| .* \| \d\.\d{3}× \[\d\.\d{3}×, \d\.\d{3}×\] \| ≤ 1\.2× \| ✅ passed \|/);
    expect(markdown).toContain(
      '| `contract_compat` | input/output contract | 1.0.0 (declared): 1 input, 1 output | 1.0.1 (declared): unchanged (a patch bump 1.0.0 → 1.0.1) | — |',
    );
  });
});

describe('regression timing on input examples', () => {
  it("times and probes both models on the candidate's input examples, which synthesised inputs cannot run", async () => {
    const vad = modeScalarModel();
    const report = await gate(['smoke_run', 'baseline_latency', 'baseline_memory'], {
      candidate: { model: vad, version: '1.1.0' },
      baseline: { model: vad, version: '1.0.0' },
      datasets: { example: [modeScalarExample(1)] },
      thresholds: { baseline_latency: { runs: 50, maxRuns: 100 }, baseline_memory: { probes: 3 } },
    });
    const [smoke, latency, memory] = report.results;
    expect(smoke.status).toBe('passed');
    for (const result of [latency, memory]) {
      expect(['passed', 'warning']).toContain(result.status);
      expect(result.details).toMatchObject({ baseline: { inputs: 'input examples example@1 (line 1)' }, candidate: { inputs: 'input examples example@1 (line 1)' } });
    }
  });

  it('does not time a candidate the smoke run could not run, leaving the cause to smoke_run', async () => {
    const vad = modeScalarModel();
    const report = await gate(['smoke_run', 'baseline_latency', 'baseline_memory'], { candidate: { model: vad, version: '1.1.0' }, baseline: { model: vad, version: '1.0.0' } });
    expect(report.failedChecks).toEqual(['smoke_run']);
    expect(report.blockedChecks).toEqual(['baseline_latency', 'baseline_memory']);
  });
});

describe('baseline_accuracy', () => {
  it('refuses a candidate above the absolute floor but more than 5% less accurate than production', async () => {
    const worse = fixtures.slightlyWorseClassifier;
    const report = await gate(['evaluation', 'baseline_accuracy'], { candidate: { model: worse.model, version: '1.1.0' }, baseline: production, datasets: evaluation });
    const [absolute, relative] = report.results;
    expect(absolute.status).toBe('passed');
    expect(relative).toMatchObject({ status: 'failed', threshold: 0.95 });
    expect(relative.value).toBeCloseTo(worse.accuracy / classifier.accuracy, 10);
    expect(relative.value as number).toBeLessThan(0.95);
    expect(relative.message).toMatch(/accuracy 0\.\d{4} against 0\.\d{4} for production fixture@1\.0\.0 \(0\.9\d\d×\) on 500 examples of evaluation@1: below 0\.95× production's/);
    expect(relative.details?.comparison).toMatchObject({ metric: 'accuracy', baseline: classifier.accuracy, candidate: worse.accuracy, verdict: 'failed' });
    expect(report).toMatchObject({ verdict: 'failed', failedChecks: ['baseline_accuracy'] });
    expect(renderMarkdown(report)).toMatch(/\| `baseline_accuracy` \| accuracy \| .* \| ❌ failed \|/);
  });

  it('lets the policy allow a larger drop', async () => {
    const result = await run('baseline_accuracy', {
      candidate: { model: fixtures.slightlyWorseClassifier.model, version: '1.1.0' },
      baseline: production,
      datasets: evaluation,
      thresholds: { baseline_accuracy: { minAccuracyRatio: 0.9 } },
    });
    expect(result).toMatchObject({ status: 'passed', threshold: 0.9 });
  });

  it('refuses a candidate that predicts NaN, though production does as badly, with a row for the counts', async () => {
    const logModel = logOfInputsModel('classification', 2);
    // The largest feature at the label's index; the last example's negative feature makes its prediction NaN.
    const rows = Array.from({ length: 20 }, (_, index) => ({ inputs: { features: index === 19 ? [-1, 0.5] : index % 2 ? [0.2, 0.8] : [0.8, 0.2] }, label: index % 2 }));
    const result = await run('baseline_accuracy', {
      candidate: { model: logModel, version: '1.1.0' },
      baseline: { model: logModel, version: '1.0.0' },
      datasets: { evaluation: rows },
    });
    expect(result).toMatchObject({ status: 'failed', value: 1, details: { nonFinitePredictions: 1 } });
    expect(result.message).toMatch(/^the candidate predicted NaN or Inf for 1 of 20 examples; accuracy 0\.9500 against 0\.9500/);
    expect(result.details?.comparison).toEqual([
      expect.objectContaining({ metric: 'accuracy', verdict: 'passed' }),
      { metric: 'NaN/Inf predictions', baseline: 1, candidate: 1, ratio: null, threshold: 'none allowed', verdict: 'failed' },
    ]);
    expect(result.recommendation).toMatch(/NaN or Inf on real inputs/);
  });

  it("compares a regressor's MAE, refusing one more than 5% worse", async () => {
    const regressor = fixtures.regressor;
    const shifted = shiftedRegressorModel(regressor.weights, 0.1);
    const data = { evaluation: regressor.evaluation };
    const worse = await run('baseline_accuracy', { candidate: { model: shifted, version: '1.1.0' }, baseline: { model: regressor.model, version: '1.0.0' }, datasets: data });
    expect(worse).toMatchObject({ status: 'failed', threshold: 1.05, details: { comparison: { metric: 'mae', bound: 'max', verdict: 'failed' } } });
    expect((worse.details?.comparison as { baseline: number }).baseline).toBeCloseTo(regressor.mae, 4);
    expect(worse.message).toMatch(/MAE 0\.\d{4} against 0\.\d{4} .*: above 1\.05× production's/);
    const better = await run('baseline_accuracy', { candidate: { model: regressor.model, version: '1.1.0' }, baseline: { model: shifted, version: '1.0.0' }, datasets: data });
    expect(better.status).toBe('passed');
    expect(better.value as number).toBeLessThan(1);
  });

  it("skips without an evaluation dataset, and when production cannot read the candidate's data", async () => {
    expect(await run('baseline_accuracy', { candidate: { model: classifier.model, version: '1.1.0' }, baseline: production })).toMatchObject({
      status: 'skipped',
      message: 'the version names no evaluation or validation dataset: nothing to compare on',
    });
    const renamed = renamedInputClassifierModel(classifier.weights, 'inputs');
    const rows = classifier.evaluation.map((row) => ({ inputs: { inputs: row.inputs.features }, label: row.label }));
    const result = await run('baseline_accuracy', { candidate: { model: renamed, version: '2.0.0' }, baseline: production, datasets: { evaluation: rows } });
    expect(result).toMatchObject({
      status: 'skipped',
      message: expect.stringContaining('production version fixture@1.0.0 cannot run on evaluation@1, the candidate\'s evaluation data: line 1 has no input "features"'),
    });
  });

  it("errors, never skips, when the evaluation dataset's stored file is corrupt", async () => {
    const result = await run('baseline_accuracy', {
      candidate: { model: classifier.model, version: '1.1.0' },
      baseline: production,
      unusable: { evaluation: 'its stored file is unusable: digest mismatch' },
    });
    expect(result).toMatchObject({ status: 'error', message: 'dataset evaluation@1 (evaluation): its stored file is unusable: digest mismatch: nothing to compare on' });
  });
});

describe('baseline_latency', () => {
  const slow = slowClassifierModel(classifier.weights);

  it('refuses a candidate much slower than production only when its whole interval is above the limit, and reports both side by side', async () => {
    const report = await gate(['baseline_latency'], { candidate: { model: slow, version: '1.1.0' }, baseline: production });
    const [result] = report.results;
    expect(result).toMatchObject({ status: 'failed', threshold: 1.1, details: { comparison: { metric: 'p95 latency, CPU time (ms)', verdict: 'failed' } } });
    expect(result.value as number).toBeGreaterThan(3);
    const details = result.details as {
      comparison: { interval: [number, number]; speedUp: number };
      interval: { low: number; high: number; confidence: number; resamples: number };
      baseline: { p95Ms: number };
      candidate: { p95Ms: number };
      waitedForCore: number;
    };
    expect(details.comparison.interval).toEqual([details.interval.low, details.interval.high]);
    expect(details.interval).toMatchObject({ confidence: 0.95, resamples: 2000 });
    expect(details.interval.low).toBeGreaterThan(1.1);
    expect(details.interval.low).toBeLessThanOrEqual(result.value as number);
    expect(details.interval.high).toBeGreaterThanOrEqual(result.value as number);
    expect(details.comparison.speedUp).toBeCloseTo(details.baseline.p95Ms / details.candidate.p95Ms, 12);
    expect(details.waitedForCore).toBeGreaterThanOrEqual(0);
    const figures = { runs: 200, warmupRuns: 10, p50Ms: expect.any(Number), p95Ms: expect.any(Number), p99Ms: expect.any(Number), examplesPerSecond: expect.any(Number) };
    expect(result.details).toMatchObject({ clock: expect.stringContaining('CPU time'), baseline: { version: '1.0.0', ...figures }, candidate: figures });
    expect(result.message).toMatch(
      /p95 \d+\.\d{3} ms against \d+\.\d{3} ms for production fixture@1\.0\.0 \(\d+\.\d{3}×, 95% interval \d+\.\d{3}–\d+\.\d{3}×\), CPU time of 200 runs each in turn \(batch 1\): the whole interval is above 1\.1× production's/,
    );
    expect(renderMarkdown(report)).toMatch(
      /\| `baseline_latency` \| p95 latency, CPU time \(ms\) \| .* \| \d+\.\d{3}× \[\d+\.\d{3}×, \d+\.\d{3}×\] · speed-up 0\.\d{3}× \| ≤ 1\.1× \| ❌ failed \|/,
    );
  });

  it('passes a candidate faster than production, with a speed-up above 1', async () => {
    const result = await run('baseline_latency', { candidate: { model: classifier.model, version: '1.1.0' }, baseline: { model: slow, version: '1.0.0' } });
    expect(result.status).toBe('passed');
    expect(result.value as number).toBeLessThan(1);
    expect((result.details?.comparison as { speedUp: number }).speedUp).toBeGreaterThan(1);
  });

  it('passes a candidate at most toleranceMs slower at p95 whatever the ratio', async () => {
    const result = await run('baseline_latency', { candidate: { model: slow, version: '1.1.0' }, baseline: production, thresholds: { baseline_latency: { toleranceMs: 1000 } } });
    expect(result).toMatchObject({ status: 'passed', message: expect.stringContaining("within 1000 ms of production's p95, which passes whatever the ratio") });
    expect(result.value as number).toBeGreaterThan(3);
  });

  it('times more rounds while the interval straddles the limit, up to maxRuns, and then warns without refusing', async () => {
    // 58 layers against 48, judged against about the ratio that work makes, so the interval almost always straddles the limit.
    const closeCall = { baseline_latency: { maxP95Ratio: 1.15, toleranceMs: 0, runs: 50, maxRuns: 200 } };
    const result = await run('baseline_latency', {
      candidate: { model: slowClassifierModel(classifier.weights, { layers: 58 }), version: '1.1.0' },
      baseline: { model: slow, version: '1.0.0' },
      thresholds: closeCall,
    });
    const { runs } = result.details?.candidate as { runs: number };
    expect([50, 100, 200]).toContain(runs);
    if (result.status === 'warning') {
      expect(runs).toBe(200);
      expect(result.message).toContain('the interval straddles 1.15×, too close to call (a higher maxRuns narrows it); not refused');
    }
  });

  it("times by the wall clock with the run's threads when cpuTime is off", async () => {
    const result = await run('baseline_latency', { candidate: { model: slow, version: '1.1.0' }, baseline: production, thresholds: { baseline_latency: { cpuTime: false } } });
    expect(result).toMatchObject({ status: 'failed', details: { clock: 'wall clock per run', comparison: { metric: 'p95 latency (ms)' } } });
    expect(result.details).not.toHaveProperty('waitedForCore');
    expect(result.message).toContain('wall clock over 200 runs each in turn');
  });
});

describe('baseline_memory', () => {
  it('refuses a candidate that needs much more memory than production, and passes the reverse', async () => {
    const heavy = slowClassifierModel(classifier.weights, { hidden: 1536, layers: 2 });
    const result = await run('baseline_memory', { candidate: { model: heavy, version: '1.1.0' }, baseline: production });
    expect(result).toMatchObject({
      status: 'failed',
      threshold: 1.2,
      details: { comparison: { metric: 'memory growth (MiB)', verdict: 'failed' }, interval: { confidence: 0.9375 } },
    });
    expect(result.message).toMatch(
      /\(\d+\.\d{3}×, 93\.75% interval \d+\.\d{3}–\d+\.\d{3}×\), median of 5 rounds of fresh processes: the whole interval is above 1\.2× production's/,
    );
    const candidate = result.details?.candidate as { probes: { growthBytes: number }[] };
    const baseline = result.details?.baseline as { probes: { growthBytes: number }[] };
    expect(candidate.probes).toHaveLength(5);
    // The interval spans the five rounds' ratios, the ratio is their median.
    const ratios = candidate.probes.map((probe, round) => probe.growthBytes / baseline.probes[round].growthBytes).sort((a, b) => a - b);
    expect(result.details?.comparison).toMatchObject({ ratio: ratios[2], interval: [ratios[0], ratios[4]] });
    const lighter = await run('baseline_memory', { candidate: production, baseline: { model: heavy, version: '0.9.0' } });
    expect(lighter.status).toBe('passed');
  });
});

describe('baseline_size', () => {
  it("refuses files much larger than production's", async () => {
    const padded = classifierModel(classifier.weights, { paddingBytes: 4096 });
    const result = await run('baseline_size', { candidate: { model: padded, version: '1.1.0' }, baseline: production });
    expect(result).toMatchObject({ status: 'failed', threshold: 1.2 });
    expect(result.value).toBeCloseTo(padded.bytes.length / classifier.model.bytes.length, 10);
    expect(result.details?.comparison).toEqual({
      metric: 'total file size (bytes)',
      baseline: classifier.model.bytes.length,
      candidate: padded.bytes.length,
      ratio: result.value,
      threshold: 1.2,
      bound: 'max',
      verdict: 'failed',
    });
    expect(
      (await run('baseline_size', { candidate: { model: padded, version: '1.1.0' }, baseline: production, thresholds: { baseline_size: { maxSizeRatio: 100 } } })).status,
    ).toBe('passed');
  });
});

describe('canary_analysis', () => {
  const candidate = { model: classifier.model, version: '1.1.0' };
  const analysed = (status: string, baselineVersion = '1.0.0', canary = true): CanaryAnalysisStanding => ({
    enabled: true,
    canary,
    latest: { id: 'run-7', status, baselineVersion, intervals: 6, finishedAt: '2026-12-06T10:00:00.000Z' },
  });

  it("passes when the version's newest analysis passed against the version in production", async () => {
    const result = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: analysed('passed') });
    expect(result).toMatchObject({
      status: 'passed',
      value: 'passed',
      message: 'canary analysis run-7 passed against fixture@1.0.0 over 6 intervals',
      details: { analysisRun: 'run-7', analysedAgainst: '1.0.0' },
    });
  });

  it('refuses a version never analysed: promote it to canary, or analyse the canary it is', async () => {
    const result = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: { enabled: true, canary: false, latest: null } });
    expect(result).toMatchObject({ status: 'failed', value: 'none', message: expect.stringContaining('has never been analysed as a canary') });
    expect(result.recommendation).toMatch(/^Promote fixture@1\.1\.0 to canary:/);
    const canary = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: { enabled: true, canary: true, latest: null } });
    expect(canary.recommendation).toMatch(/^Analyse the canary fixture@1\.1\.0 again against fixture@1\.0\.0: gatehouse analysis start fixture /);
  });

  it.each([
    ['running', /is still running/, /Wait for it to pass its last traffic step \(gatehouse analysis show run-7 --watch\)/],
    ['paused', /is paused after too many inconclusive intervals/, /resume it \(gatehouse analysis resume run-7\)/],
    ['rolled_back', /failed and rolled the canary back/, /Fix the regression its failed intervals show, register a new version/],
    ['aborted', /was aborted/, /Register a new version/],
    ['cancelled', /was cancelled/, /gatehouse analysis start fixture/],
  ])('refuses a version whose newest analysis is %s, with what to do about it', async (status, message, recommendation) => {
    const result = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: analysed(status) });
    expect(result).toMatchObject({ status: 'failed', value: status, threshold: 'passed', message: expect.stringMatching(message) });
    expect(result.recommendation).toMatch(recommendation);
  });

  it('refuses an analysis that passed against a production version since replaced', async () => {
    const result = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: analysed('passed', '0.9.0') });
    expect(result).toMatchObject({ status: 'failed', message: 'canary analysis run-7 passed against fixture@0.9.0, but fixture@1.0.0 is in production now' });
    expect(result.recommendation).toMatch(/^Analyse the canary fixture@1\.1\.0 again against fixture@1\.0\.0/);
    const elsewhere = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: analysed('passed', '0.9.0', false) });
    expect(elsewhere.recommendation).toMatch(/^Promote fixture@1\.1\.0 to canary/);
  });

  it('refuses an analysis still deciding even where the policy has since turned analysis off', async () => {
    for (const status of ['running', 'paused']) {
      const result = await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: { ...analysed(status), enabled: false } });
      expect(result).toMatchObject({ status: 'failed', value: status });
    }
    expect(await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: { ...analysed('cancelled'), enabled: false } })).toMatchObject({ status: 'skipped' });
  });

  it('skips without a production version, where analysis is off for the model, and offline', async () => {
    expect(await run('canary_analysis', { candidate, canaryAnalysis: { enabled: true, canary: false, latest: null } })).toMatchObject({
      status: 'skipped',
      message: 'there is no production version of fixture yet to compare with',
    });
    expect(await run('canary_analysis', { candidate, baseline: production, canaryAnalysis: { enabled: false, canary: false, latest: null } })).toMatchObject({
      status: 'skipped',
      message: "the monitoring policy does not analyse fixture's canaries",
    });
    expect(await run('canary_analysis', { candidate, baseline: production })).toMatchObject({
      status: 'skipped',
      message: expect.stringContaining('validated where the registry cannot be asked'),
    });
  });
});

describe('contract_compat', () => {
  const withLogits = classifierWithLogitsModel(classifier.weights);

  it('fails an added output under a minor bump, naming it', async () => {
    const result = await run('contract_compat', { candidate: { model: withLogits, version: '1.1.0' }, baseline: production });
    expect(result).toMatchObject({ status: 'failed', value: 1, threshold: 0 });
    expect(result.message).toBe(
      'the input/output contract changed from production fixture@1.0.0 under a minor bump 1.0.0 → 1.1.0, and a change needs a major version bump' +
        ' (schemas compared: production\'s declared, the candidate\'s declared): added output "logits"',
    );
    expect(result.details?.changes).toEqual([expect.objectContaining({ kind: 'output', name: 'logits', change: 'added' })]);
  });

  it('passes the same change under a major bump, still listing it', async () => {
    const result = await run('contract_compat', { candidate: { model: withLogits, version: '2.0.0' }, baseline: production });
    expect(result).toMatchObject({ status: 'passed', value: 1 });
    expect(result.message).toBe(
      '1 contract change from production fixture@1.0.0, allowed by the major bump 1.0.0 → 2.0.0' +
        ' (schemas compared: production\'s declared, the candidate\'s declared): added output "logits"',
    );
  });

  it('names a renamed input as removed and added, and a changed class count as a fixed dimension', async () => {
    const renamed = await run('contract_compat', { candidate: { model: renamedInputClassifierModel(classifier.weights, 'inputs'), version: '1.0.1' }, baseline: production });
    expect(renamed.status).toBe('failed');
    expect(renamed.message).toContain('under a patch bump 1.0.0 → 1.0.1');
    expect(renamed.message).toContain('removed input "features"; added input "inputs"');
    const fourClasses = classifierModel({ features: 8, classes: 4, weights: new Float32Array(32), bias: new Float32Array(4) });
    const wider = await run('contract_compat', { candidate: { model: fourClasses, version: '1.2.0' }, baseline: production });
    expect(wider.message).toContain('output "probabilities" dimension 1 3 → 4');
  });

  it('does not take a lower or non-semantic version as a major bump', async () => {
    expect((await run('contract_compat', { candidate: { model: withLogits, version: '0.9.0' }, baseline: production })).message).toContain('1.0.0 → 0.9.0, not a later version');
    expect((await run('contract_compat', { candidate: { model: withLogits, version: 'local' }, baseline: production })).message).toContain('which are not both semantic versions');
    const release = await run('contract_compat', { candidate: { model: withLogits, version: '2.0.0' }, baseline: { ...production, version: '2.0.0-rc.1' } });
    expect(release).toMatchObject({ status: 'failed', message: expect.stringContaining('under a pre-release bump 2.0.0-rc.1 → 2.0.0, and a change needs a major version bump') });
  });

  it("compares a candidate's inferred schema with production's declared one, and says which it compared", async () => {
    const same = await run('contract_compat', { candidate: { model: classifier.model, version: '1.0.1', schema: null }, baseline: production });
    expect(same).toMatchObject({
      status: 'passed',
      message: "inputs and outputs unchanged from production fixture@1.0.0 (schemas compared: production's declared, the candidate's inferred from its model)",
      details: { baseline: { schemaSource: 'declared' }, candidate: { schemaSource: 'inferred' } },
    });
    const added = await run('contract_compat', { candidate: { model: withLogits, version: '1.1.0', schema: null }, baseline: { ...production, schema: null } });
    expect(added).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('(schemas compared: production\'s inferred from its model, the candidate\'s inferred from its model): added output "logits"'),
    });
  });

  it('holds the candidate to what production declared, not only to what its model took', async () => {
    // Production promised batches of one; the candidate, declaring nothing, takes any batch size.
    const declaredOne = { inputs: [{ ...classifier.model.schema.inputs[0], shape: [1, 8] }], outputs: [{ ...classifier.model.schema.outputs[0], shape: [1, 3] }] };
    const result = await run('contract_compat', { candidate: { model: classifier.model, version: '1.0.1', schema: null }, baseline: { ...production, schema: declaredOne } });
    expect(result.status).toBe('failed');
    expect(result.message).toContain('input "features" dimension 0 1 → "batch"; output "probabilities" dimension 0 1 → "batch"');
  });

  it('compares as onnxruntime reports them the models that have no schema, declared or inferred', async () => {
    const sequences = { model: sequenceOutputClassifierModel(classifier.weights), schema: null };
    const result = await run('contract_compat', { candidate: { ...sequences, version: '1.0.1' }, baseline: { ...sequences, version: '1.0.0' } });
    expect(result).toMatchObject({
      status: 'passed',
      message:
        "inputs and outputs unchanged from production fixture@1.0.0 (schemas compared: production's as onnxruntime reads its model (the graph gives no schema), the candidate's as onnxruntime reads its model (the graph gives no schema))",
    });
  });

  it('compares element types, ranks and fixed dimensions, not the names of symbolic ones', () => {
    const tensor = (name: string, dtype: string, shape: (number | string | null)[]) => ({ name, dtype, shape });
    const changes = contractChanges(
      'input',
      [tensor('a', 'float32', ['batch', 8]), tensor('b', 'float32', ['batch', 8]), tensor('c', 'int64', ['batch', 'seq']), tensor('d', 'float32', ['n', 16])],
      [tensor('a', 'float64', ['batch', 8]), tensor('b', 'float32', ['batch', 2, 4]), tensor('c', 'int64', ['n', 'length']), tensor('d', 'float32', ['n', null])],
    );
    expect(changes.map((change) => change.description)).toEqual([
      'input "a" element type float32 → float64',
      'input "b" rank 2 → 3 (["batch", 8] → ["batch", 2, 4])',
      'input "d" dimension 1 16 → ?',
    ]);
  });
});
