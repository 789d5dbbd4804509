import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jsonLines, standardFixtures, truncated } from '../../../test/fixtures/onnx-models';
import { GATE_CHECKS } from './checks';
import { thresholdsFor } from './check';
import { GateContext, type GateDataset } from './gate-context';
import { GateEngine } from './gate-engine';
import { GatePolicy } from './gate-policy';
import type { GateReport } from './gate-report';
import { DEFAULT_GATE_SETTINGS } from './gate-settings';
import type { Task } from './terms';

const shipped = GatePolicy.load(resolve(__dirname, '../../../config/gates.json'), GATE_CHECKS);
const classifier = standardFixtures().classifier;
const ids = (checks: { id: string }[]) => checks.map((check) => check.id);

describe('a policy of every check (gatehouse validate --check-all)', () => {
  it("runs the stage's checks as the stage has them, then every other check once, as a warning", () => {
    const stage = shipped.resolve('registered', 'classification');
    const every = shipped.resolve('registered', 'classification', { everyCheck: true });
    expect(ids(every.checks).sort()).toEqual(ids([...GATE_CHECKS]).sort());
    for (const entry of stage.checks) expect(every.checks.find((check) => check.id === entry.id)).toEqual(entry);
    const added = every.checks.filter((check) => !ids(stage.checks).includes(check.id));
    expect(ids(added)).toEqual(expect.arrayContaining(['browser_compat', 'signature_trusted', 'contract_compat', 'baseline_latency', 'final_loss', 'sample_quality']));
    for (const entry of added.filter((check) => !['final_loss', 'sample_quality'].includes(check.id))) expect(entry.severity).toBe('warning');
    expect(every.checks.find((check) => check.id === 'browser_compat')?.thresholds).toEqual(
      thresholdsFor(
        GATE_CHECKS.find((check) => check.id === 'browser_compat')!,
        'classification',
      ),
    );
  });

  it("keeps the stage's checks for other tasks, with the stage's severity, for the engine to report", () => {
    const every = shipped.resolve('registered', 'classification', { everyCheck: true });
    expect(every.checks.find((check) => check.id === 'final_loss')).toEqual({ id: 'final_loss', severity: 'critical', thresholds: { maxLoss: 0.5 } });
  });

  it('puts a check the stage leaves out before the first that requires it: artifact_scan before model_loads at staging', () => {
    expect(ids(shipped.resolve('staging', 'classification').checks)).not.toContain('artifact_scan');
    const every = ids(shipped.resolve('staging', 'classification', { everyCheck: true }).checks);
    expect(every.indexOf('artifact_scan')).toBeLessThan(every.indexOf('model_loads'));
    const bare = ids(GatePolicy.parse({ stages: { registered: { checks: { files_intact: {} } } } }, GATE_CHECKS).resolve('registered', 'other', { everyCheck: true }).checks);
    for (const check of GATE_CHECKS) for (const required of check.requires ?? []) expect(bare.indexOf(required)).toBeLessThan(bare.indexOf(check.id));
  });
});

describe('checks that do not apply', () => {
  let workspace: string;
  beforeEach(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'gatehouse-applies-'));
  });
  afterEach(() => rm(workspace, { recursive: true, force: true }));

  /** The shipped registration gate's checks named, for a version of `task`, with the classifier's evaluation data unless `evaluation` is false. */
  const gate = async (task: Task, checks: string[], options: { model?: Uint8Array; evaluation?: boolean; everyCheck?: boolean } = {}): Promise<GateReport> => {
    const bytes = options.model ?? classifier.model.bytes;
    await writeFile(join(workspace, 'model.onnx'), bytes);
    const datasets: GateDataset[] = [];
    if (options.evaluation !== false) {
      await writeFile(join(workspace, 'eval.jsonl'), jsonLines(classifier.evaluation));
      datasets.push({ role: 'evaluation', name: 'eval@1', path: join(workspace, 'eval.jsonl') });
    }
    const subject = { model: 'm', version: '1.0.0', task, declaredSchema: null, reportedMetrics: {}, files: [{ path: 'model.onnx', sha256: null, size: bytes.length }] };
    const policy = shipped.resolve('registered', task, { everyCheck: options.everyCheck });
    const run = { ...policy, checks: policy.checks.filter((check) => checks.includes(check.id)) };
    return new GateEngine(GATE_CHECKS).run(new GateContext(subject, workspace, datasets, DEFAULT_GATE_SETTINGS), run);
  };
  const result = (report: GateReport, id: string) => report.results.find((entry) => entry.id === id);

  it('reports an evaluation dataset of a version of task other as skipped, naming it and what to do, never as passed', async () => {
    expect(ids(shipped.resolve('registered', 'other').checks)).toContain('evaluation');
    const report = await gate('other', ['files_intact', 'onnx_parses', 'weights_finite', 'model_loads', 'evaluation']);
    expect(result(report, 'evaluation')).toMatchObject({
      status: 'skipped',
      message:
        "not run: task other has no metric to measure dataset eval@1 (evaluation) on, so it was not evaluated; give the model's task as classification, regression or generative to have it measured",
    });
    expect(result(report, 'evaluation')?.blockedBy).toBeUndefined();
  });

  it('says task other has nothing to evaluate without a dataset, at staging too, where evaluation is required', async () => {
    const report = await gate('other', ['model_loads', 'evaluation'], { evaluation: false });
    expect(result(report, 'evaluation')).toMatchObject({ status: 'skipped', message: 'not run: task other has no metric to evaluate' });
    expect(shipped.resolve('staging', 'other').checks.find((check) => check.id === 'evaluation')?.thresholds.required).toBe(true);
  });

  it('does not count the unused evaluation as blocked when the model failed: it would not have run anyway', async () => {
    const report = await gate('other', ['files_intact', 'onnx_parses', 'model_loads', 'evaluation'], { model: truncated(classifier.model.bytes) });
    expect(result(report, 'model_loads')).toMatchObject({ status: 'skipped', blockedBy: 'onnx_parses' });
    expect(result(report, 'evaluation')).toMatchObject({ status: 'skipped', message: expect.stringContaining('task other has no metric') });
    expect(report.blockedChecks).toEqual(['model_loads']);
  });

  it('still evaluates a classifier on the same data', async () => {
    const report = await gate('classification', ['model_loads', 'evaluation']);
    expect(result(report, 'evaluation')).toMatchObject({ status: 'passed', value: expect.closeTo(classifier.accuracy, 6) });
  });

  it('reports a check for other tasks as not applying, out of the score, under a policy of every check', async () => {
    const report = await gate('classification', ['files_intact', 'final_loss', 'sample_quality'], { everyCheck: true });
    expect(result(report, 'final_loss')).toMatchObject({ status: 'skipped', severity: 'critical', message: 'not run: final_loss does not apply to classification models' });
    expect(result(report, 'sample_quality')).toMatchObject({ status: 'skipped', message: 'not run: sample_quality does not apply to classification models' });
    expect(report).toMatchObject({ verdict: 'passed', healthScore: 100, blockedChecks: [] });
  });
});
