import type { CheckResult, GateStage, GateTask } from './check';

export type GateVerdict = 'passed' | 'failed';

export interface GateReport {
  stage: GateStage;
  subject: { model: string; version: string; task: GateTask };
  verdict: GateVerdict;
  /** (passed + 0.5 × warnings) / checks that ran × 100; skipped checks don't count. */
  healthScore: number;
  summary: { total: number; passed: number; warnings: number; failed: number; errors: number; skipped: number };
  /** Ids of critical checks that failed or errored: the reasons the gate refused. */
  failedChecks: string[];
  recommendations: { check: string; recommendation: string }[];
  results: CheckResult[];
  resources: { cpuTimeMs: number; peakRssBytes: number; rssIncreaseBytes: number };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export function summarize(results: CheckResult[]): Pick<GateReport, 'verdict' | 'healthScore' | 'summary' | 'failedChecks' | 'recommendations'> {
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  const summary = { total: results.length, passed: count('passed'), warnings: count('warning'), failed: count('failed'), errors: count('error'), skipped: count('skipped') };
  const ran = summary.total - summary.skipped;
  const failedChecks = results.filter((result) => result.severity === 'critical' && (result.status === 'failed' || result.status === 'error')).map((result) => result.id);
  return {
    verdict: failedChecks.length === 0 ? 'passed' : 'failed',
    healthScore: ran === 0 ? 0 : Math.round(((summary.passed + 0.5 * summary.warnings) / ran) * 1000) / 10,
    summary,
    failedChecks,
    recommendations: results.filter((result) => result.recommendation).map((result) => ({ check: result.id, recommendation: result.recommendation! })),
  };
}

const STATUS_MARKS: Record<CheckResult['status'], string> = {
  passed: '✅ passed',
  warning: '⚠️ warning',
  failed: '❌ failed',
  error: '💥 error',
  skipped: '⏭️ skipped',
};

/** The report as Markdown, for a pull request comment or a CI summary. */
export function renderMarkdown(report: GateReport): string {
  const lines = [
    `# Gate report: ${report.subject.model}@${report.subject.version} → ${report.stage}`,
    '',
    `**Verdict: ${report.verdict === 'passed' ? 'PASSED' : 'FAILED'}** · health score ${report.healthScore} · ${report.subject.task}`,
    '',
    `${report.summary.passed} passed, ${report.summary.warnings} warnings, ${report.summary.failed} failed, ${report.summary.errors} errors, ${report.summary.skipped} skipped of ${report.summary.total} checks.`,
    '',
  ];
  if (report.failedChecks.length > 0) lines.push(`Refused by: ${report.failedChecks.map((id) => `\`${id}\``).join(', ')}`, '');
  lines.push('| check | severity | status | value | threshold | message | time |', '|---|---|---|---|---|---|---|');
  for (const result of report.results) {
    lines.push(`| \`${result.id}\` | ${result.severity} | ${STATUS_MARKS[result.status]} | ${cell(result.value)} | ${cell(result.threshold)} | ${escapeCell(result.message)} | ${result.durationMs.toFixed(0)} ms |`);
  }
  if (report.recommendations.length > 0) {
    lines.push('', '## Recommendations', '');
    for (const { check, recommendation } of report.recommendations) lines.push(`- \`${check}\`: ${escapeCell(recommendation)}`);
  }
  lines.push(
    '',
    '## Resources',
    '',
    `CPU time ${report.resources.cpuTimeMs.toFixed(0)} ms · peak RSS ${mebibytes(report.resources.peakRssBytes)} (+${mebibytes(report.resources.rssIncreaseBytes)} during the run) · ${(report.durationMs / 1000).toFixed(2)} s from ${report.startedAt}`,
    '',
  );
  return lines.join('\n');
}

function cell(value: CheckResult['value']): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return escapeCell(String(value));
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
