import { FINDING_SEVERITIES, type SecurityFinding } from '@gatehouse/artifact-scan';
import type { CheckResult } from './check';
import type { GateStage, Task } from './terms';

export type GateVerdict = 'passed' | 'failed';

/** One row of the side-by-side table a regression check puts in `details.comparison` (one row, or an array of them). */
export interface ComparisonRow {
  metric: string;
  baseline: number | string | null;
  candidate: number | string | null;
  /** candidate / baseline; null where that means nothing (a zero baseline, a metric that is not a number). */
  ratio: number | null;
  /** The limit on the ratio, or the rule the metric follows. */
  threshold: number | string | null;
  /** Whether a numeric threshold is the lowest ratio allowed (min) or the highest (max). */
  bound?: 'min' | 'max';
  verdict: 'passed' | 'failed';
}

export interface GateReport {
  stage: GateStage;
  subject: { model: string; version: string; task: Task };
  /** The production version the regression checks compared with; null when none served (absent in reports from before regression checks). */
  baseline?: { model: string; version: string } | null;
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
    lines.push(
      `| \`${result.id}\` | ${result.severity} | ${STATUS_MARKS[result.status]} | ${cell(result.value)} | ${cell(result.threshold)} | ${escapeCell(result.message)} | ${result.durationMs.toFixed(0)} ms |`,
    );
  }
  if (report.recommendations.length > 0) {
    lines.push('', '## Recommendations', '');
    for (const { check, recommendation } of report.recommendations) lines.push(`- \`${check}\`: ${escapeCell(recommendation)}`);
  }
  lines.push(...renderComparison(report));
  lines.push(...renderFindings(report));
  lines.push(
    '',
    '## Resources',
    '',
    `CPU time ${report.resources.cpuTimeMs.toFixed(0)} ms · peak RSS ${mebibytes(report.resources.peakRssBytes)} (+${mebibytes(report.resources.rssIncreaseBytes)} during the run) · ${(report.durationMs / 1000).toFixed(2)} s from ${report.startedAt}`,
    '',
  );
  return lines.join('\n');
}

/** The regression checks side by side: production's figure, the candidate's, their ratio and the limit on it. */
function renderComparison(report: GateReport): string[] {
  const regression = report.results.filter((result) => result.family === 'regression');
  if (regression.length === 0) return [];
  if (!report.baseline) return ['', '## Compared with production', '', `No version of ${report.subject.model} is in production yet: there was nothing to compare with.`];
  const lines = [
    '',
    `## Compared with production ${report.baseline.model}@${report.baseline.version}`,
    '',
    '| check | metric | baseline | candidate | ratio | threshold | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  const unmeasured: string[] = [];
  for (const result of regression) {
    const rows = [result.details?.comparison ?? []].flat() as ComparisonRow[];
    if (rows.length === 0) unmeasured.push(`- \`${result.id}\` ${STATUS_MARKS[result.status]}: ${escapeCell(result.message)}`);
    for (const row of rows) {
      const threshold = typeof row.threshold === 'number' ? `${row.bound === 'min' ? '≥' : '≤'} ${row.threshold}×` : cell(row.threshold);
      const verdict = row.verdict === 'failed' && result.status === 'warning' ? 'warning' : row.verdict;
      lines.push(
        `| \`${result.id}\` | ${escapeCell(row.metric)} | ${cell(row.baseline)} | ${cell(row.candidate)} | ${row.ratio === null ? '—' : `${row.ratio.toFixed(3)}×`} | ${escapeCell(threshold)} | ${STATUS_MARKS[verdict]} |`,
      );
    }
  }
  if (unmeasured.length > 0) lines.push('', ...unmeasured);
  return lines;
}

/** Security findings of every check that reports them, most severe group first. */
function renderFindings(report: GateReport): string[] {
  const findings = report.results.flatMap((result) => ((result.details?.findings as SecurityFinding[] | undefined) ?? []).map((finding) => ({ check: result.id, ...finding })));
  if (findings.length === 0) return [];
  const lines = ['', '## Security findings'];
  for (const severity of FINDING_SEVERITIES) {
    const group = findings.filter((finding) => finding.severity === severity);
    if (group.length === 0) continue;
    lines.push('', `### ${severity} (${group.length})`, '', '| file | location | global | rule | why |', '|---|---|---|---|---|');
    for (const finding of group) {
      const global = finding.module === undefined ? '—' : `\`${finding.module}.${finding.name}\``;
      lines.push(`| ${escapeCell(finding.file)} | ${escapeCell(finding.location)} | ${global} | ${finding.rule} | ${escapeCell(finding.why)} |`);
    }
  }
  return lines;
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
