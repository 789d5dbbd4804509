import type { CheckResult } from './check';
import { renderMarkdown, summarize, type GateReport } from './gate-report';

function result(id: string, status: CheckResult['status'], severity: CheckResult['severity'] = 'critical'): CheckResult {
  return {
    id,
    family: 'validation',
    severity,
    status,
    value: null,
    threshold: null,
    message: `${id} ${status}`,
    durationMs: 1,
    ...(status === 'failed' ? { recommendation: `fix ${id}` } : {}),
  };
}

describe('gate report', () => {
  it('scores (passed + 0.5 × warnings) / checks that ran × 100, leaving skipped checks out', () => {
    const summary = summarize([result('a', 'passed'), result('b', 'passed'), result('c', 'warning', 'warning'), result('d', 'failed'), result('e', 'skipped')]);
    expect(summary.healthScore).toBe(62.5);
    expect(summary.summary).toEqual({ total: 5, passed: 2, warnings: 1, failed: 1, errors: 0, skipped: 1 });
  });

  it('fails on a critical failure or error, never on a warning-severity one', () => {
    expect(summarize([result('a', 'passed'), result('b', 'warning', 'warning')]).verdict).toBe('passed');
    expect(summarize([result('a', 'error')])).toMatchObject({ verdict: 'failed', failedChecks: ['a'] });
    expect(summarize([result('a', 'failed', 'warning')])).toMatchObject({ verdict: 'passed', failedChecks: [] });
  });

  it('renders Markdown with the verdict, one row per check and the recommendations', () => {
    const results = [result('weights_finite', 'failed'), result('latency', 'passed')];
    const report: GateReport = {
      stage: 'registered',
      subject: { model: 'm', version: '1.0.0', task: 'classification' },
      ...summarize(results),
      results,
      resources: { cpuTimeMs: 12, peakRssBytes: 200 * 1024 * 1024, rssIncreaseBytes: 1024 * 1024 },
      startedAt: '2026-11-24T00:00:00.000Z',
      finishedAt: '2026-11-24T00:00:01.000Z',
      durationMs: 1000,
    };
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('# Gate report: m@1.0.0 → registered');
    expect(markdown).toContain('**Verdict: FAILED**');
    expect(markdown).toContain('| `weights_finite` | critical | ❌ failed |');
    expect(markdown).toContain('- `weights_finite`: fix weights_finite');
    expect(markdown).toContain('peak RSS 200.0 MiB');
  });
});
