import type { CheckResult } from './check';
import { FINDING_SEVERITIES } from '@gatehouse/artifact-scan';
import { renderMarkdown, REPORTED_SEVERITIES, summarize, type GateReport } from './gate-report';

function result(id: string, status: CheckResult['status'], severity: CheckResult['severity'] = 'critical', extra: Partial<CheckResult> = {}): CheckResult {
  return {
    id,
    family: 'validation',
    severity,
    status,
    value: null,
    threshold: null,
    message: `${id} ${status}`,
    durationMs: 1,
    ...(status === 'failed' || status === 'warning' ? { recommendation: `fix ${id}` } : {}),
    ...extra,
  };
}

const blockedBy = (id: string, root: string, severity: CheckResult['severity'] = 'critical') =>
  result(id, 'skipped', severity, { blockedBy: root, message: `not run: ${root} did not pass` });

function reportOf(results: CheckResult[]): GateReport {
  return {
    stage: 'registered',
    subject: { model: 'm', version: '1.0.0', task: 'classification' },
    ...summarize(results),
    results,
    resources: { cpuTimeMs: 12, peakRssBytes: 200 * 1024 * 1024, rssIncreaseBytes: 1024 * 1024 },
    startedAt: '2026-11-24T00:00:00.000Z',
    finishedAt: '2026-11-24T00:00:01.000Z',
    durationMs: 1000,
  };
}

describe('gate report', () => {
  it('scores (passed + 0.5 × warnings) / counted checks × 100, leaving out skipped checks that do not apply', () => {
    const summary = summarize([result('a', 'passed'), result('b', 'passed'), result('c', 'warning', 'warning'), result('d', 'failed'), result('e', 'skipped')]);
    expect(summary.healthScore).toBe(62.5);
    expect(summary.summary).toEqual({ total: 5, passed: 2, warnings: 1, failed: 1, errors: 0, skipped: 1, blocked: 0 });
  });

  it('scores three failed critical checks of ten as 70', () => {
    const results = [...'abcdefg'].map((id) => result(id, 'passed')).concat([result('x', 'failed'), result('y', 'failed'), result('z', 'error')]);
    expect(summarize(results)).toMatchObject({ healthScore: 70, verdict: 'failed', failedChecks: ['x', 'y', 'z'] });
  });

  it('counts a check blocked by a failed prerequisite as failed, lists it apart from the cause, and gives it no advice', () => {
    const results = [result('a', 'passed'), result('b', 'failed'), blockedBy('c', 'b'), blockedBy('d', 'b'), result('e', 'skipped')];
    expect(summarize(results)).toEqual({
      verdict: 'failed',
      // 1 passed of 4 counted: e does not apply.
      healthScore: 25,
      summary: { total: 5, passed: 1, warnings: 0, failed: 1, errors: 0, skipped: 3, blocked: 2 },
      failedChecks: ['b'],
      blockedChecks: ['c', 'd'],
      recommendations: [{ check: 'b', recommendation: 'fix b' }],
    });
  });

  it('fails on a critical failure or error, never on a warning-severity one unless it keeps a critical check from running', () => {
    expect(summarize([result('a', 'passed'), result('b', 'warning', 'warning')]).verdict).toBe('passed');
    expect(summarize([result('a', 'error')])).toMatchObject({ verdict: 'failed', failedChecks: ['a'] });
    expect(summarize([result('a', 'failed', 'warning')])).toMatchObject({ verdict: 'passed', failedChecks: [] });
    expect(summarize([result('a', 'error', 'warning'), blockedBy('b', 'a', 'warning')])).toMatchObject({ verdict: 'passed', failedChecks: [] });
    expect(summarize([result('a', 'error', 'warning'), blockedBy('b', 'a')])).toMatchObject({ verdict: 'failed', failedChecks: ['a'], blockedChecks: ['b'] });
  });

  it("lists the refusing checks' advice first, and advice several checks share once", () => {
    const shared = 'the model gives NaN';
    const { recommendations } = summarize([
      result('reported', 'warning', 'warning', { recommendation: shared }),
      result('latency', 'warning', 'warning'),
      result('evaluation', 'failed', 'critical', { recommendation: shared }),
      result('train', 'failed', 'critical', { recommendation: shared }),
    ]);
    expect(recommendations).toEqual([
      { check: 'evaluation', recommendation: shared },
      { check: 'latency', recommendation: 'fix latency' },
    ]);
  });

  it('renders Markdown leading with the verdict and each refusing check, its message and advice, before every check', () => {
    const shared = 'the model gives NaN';
    const results = [
      result('weights_finite', 'failed'),
      result('evaluation', 'failed', 'critical', { message: 'the model predicted NaN', recommendation: shared }),
      result('train_accuracy', 'failed', 'critical', { recommendation: shared }),
      blockedBy('smoke_run', 'weights_finite'),
      result('latency', 'passed'),
      result('reported_metrics', 'warning', 'warning'),
    ];
    const markdown = renderMarkdown(reportOf(results));
    expect(markdown).toContain('# Gate report: m@1.0.0 → registered');
    expect(markdown).toContain('**Verdict: FAILED** · health score 25 · classification\n\nRefused by `weights_finite`, `evaluation`, `train_accuracy`.');
    expect(markdown).toContain(
      [
        '### ❌ failed: `weights_finite` (critical)',
        '',
        'weights_finite failed',
        '',
        '**What to do:** fix weights_finite',
        '',
        'Not run because of it (1): `smoke_run`.',
        '',
        '### ❌ failed: `evaluation` (critical)',
        '',
        'the model predicted NaN',
        '',
        '**What to do:** the model gives NaN',
        '',
        '### ❌ failed: `train_accuracy` (critical)',
        '',
        'train_accuracy failed',
        '',
        '**What to do:** as for `evaluation` above.',
      ].join('\n'),
    );
    expect(markdown.indexOf('### ❌ failed: `train_accuracy`')).toBeLessThan(markdown.indexOf('## Checks'));
    expect(markdown).toContain('1 passed, 1 warnings, 3 failed, 0 errors, 1 skipped (1 of them blocked by a failed check) of 6 checks.');
    expect(markdown).toContain('| `weights_finite` | critical | ❌ failed |');
    expect(markdown).toContain('| `smoke_run` | critical | ⛔ blocked by `weights_finite` |');
    // The refusing checks' advice is above; only the rest follows the table.
    expect(markdown).toContain('## Other recommendations\n\n- `reported_metrics`: fix reported_metrics\n');
    expect(markdown).not.toContain('- `weights_finite`');
    expect(markdown).toContain('peak RSS 200.0 MiB');
  });

  it("groups security findings by the scanner's own severities, most severe first", () => {
    expect(REPORTED_SEVERITIES).toEqual(FINDING_SEVERITIES);
  });

  it('renders a passed report without a refusal, and one stored before checks were marked blocked', () => {
    const passed = renderMarkdown(reportOf([result('latency', 'passed'), result('reported_metrics', 'warning', 'warning')]));
    expect(passed).not.toContain('Refused by');
    expect(passed).toContain('## Recommendations\n\n- `reported_metrics`: fix reported_metrics');
    const { blockedChecks: _blockedChecks, ...stored } = reportOf([result('onnx_parses', 'failed'), result('model_loads', 'skipped')]);
    const old = renderMarkdown({ ...stored, summary: { total: 2, passed: 0, warnings: 0, failed: 1, errors: 0, skipped: 1 } });
    expect(old).toContain('0 passed, 0 warnings, 1 failed, 0 errors, 1 skipped of 2 checks.');
    expect(old).toContain('| `model_loads` | critical | ⏭️ skipped |');
  });
});
