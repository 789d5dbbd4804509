import type { FindingSeverity, SecurityFinding } from '@gatehouse/artifact-scan';
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
  /** Where the ratio's true value lies (at the confidence the check's message states), for a ratio measured with noise. */
  interval?: [number, number];
  /** baseline / candidate for a time: how many times faster than production the candidate runs. */
  speedUp?: number;
  /** warning: the interval straddles the threshold, too close to call either way. */
  verdict: 'passed' | 'warning' | 'failed';
}

/** What the process a gate ran in used, and what serving the model would need by that measure. */
export interface SandboxResources {
  /** The process's peak resident set, node and onnxruntime included. */
  peakRssBytes: number;
  /** The process's CPU time, all threads, from its start. */
  cpuTimeMs: number;
  /** peak × 1.5: a serving process holds the model and its working memory, plus headroom for concurrent requests. */
  servingEstimateBytes: number;
  /** The smallest common container memory size holding the serving estimate (256Mi … 16Gi); null above 16Gi. */
  recommendedContainer: string | null;
  /** The limits the run was held to. */
  limits: { memoryLimitMiB: number; cpuSeconds: number; timeoutSeconds: number };
}

export interface GateReport {
  stage: GateStage;
  subject: { model: string; version: string; task: Task };
  /** The production version the regression checks compared with; null when none served (absent in reports from before regression checks). */
  baseline?: { model: string; version: string } | null;
  verdict: GateVerdict;
  /**
   * (passed + 0.5 × warnings) / counted × 100, where counted is every check but
   * those skipped because they do not apply (no production version, another
   * task, no dataset): a check blocked by a failed prerequisite counts, as
   * failed. 0 when no check counts.
   */
  healthScore: number;
  /** Counts by status; `blocked` (absent in reports from before it was told apart) is how many of the skipped were blocked by a failed prerequisite. */
  summary: { total: number; passed: number; warnings: number; failed: number; errors: number; skipped: number; blocked?: number };
  /**
   * The reasons the gate refused: ids of critical checks that failed or errored,
   * and of any check whose failure kept a critical one from running. Not the
   * checks they blocked: those are in `blockedChecks`.
   */
  failedChecks: string[];
  /** Ids of checks that did not run because a check they need did not pass; each result's `blockedBy` names the root cause. Absent in reports from before. */
  blockedChecks?: string[];
  /**
   * What to do, the refusing checks' advice first. A blocked check has none of
   * its own, and advice several checks share (one cause met by each) is listed
   * once, under the first of them.
   */
  recommendations: { check: string; recommendation: string }[];
  results: CheckResult[];
  /** The engine's own measures of the run, and (absent in reports from before the sandbox) its sandbox process's. */
  resources: { cpuTimeMs: number; peakRssBytes: number; rssIncreaseBytes: number; sandbox?: SandboxResources };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export function summarize(results: CheckResult[]): Pick<GateReport, 'verdict' | 'healthScore' | 'summary' | 'failedChecks' | 'blockedChecks' | 'recommendations'> {
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  const blocked = results.filter((result) => result.blockedBy);
  const summary = {
    total: results.length,
    passed: count('passed'),
    warnings: count('warning'),
    failed: count('failed'),
    errors: count('error'),
    skipped: count('skipped'),
    blocked: blocked.length,
  };
  const counted = summary.total - summary.skipped + summary.blocked;
  // A warning-severity check that errored refuses nothing itself, but does when it keeps a critical one from running.
  const blockingCritical = new Set(blocked.filter((result) => result.severity === 'critical').map((result) => result.blockedBy));
  const failedChecks = results
    .filter((result) => (result.severity === 'critical' && (result.status === 'failed' || result.status === 'error')) || blockingCritical.has(result.id))
    .map((result) => result.id);
  const advised = [...results.filter((result) => failedChecks.includes(result.id)), ...results.filter((result) => !failedChecks.includes(result.id))];
  const recommendations: GateReport['recommendations'] = [];
  for (const { id, recommendation } of advised) {
    if (recommendation && !recommendations.some((listed) => listed.recommendation === recommendation)) recommendations.push({ check: id, recommendation });
  }
  return {
    verdict: failedChecks.length === 0 ? 'passed' : 'failed',
    healthScore: counted === 0 ? 0 : Math.round(((summary.passed + 0.5 * summary.warnings) / counted) * 1000) / 10,
    summary,
    failedChecks,
    blockedChecks: blocked.map((result) => result.id),
    recommendations,
  };
}

const STATUS_MARKS: Record<CheckResult['status'], string> = {
  passed: '✅ passed',
  warning: '⚠️ warning',
  failed: '❌ failed',
  error: '💥 error',
  skipped: '⏭️ skipped',
};

/** The report as Markdown, for a pull request comment or a CI summary: the verdict and what refused it first, then every check. */
export function renderMarkdown(report: GateReport): string {
  const lines = [
    `# Gate report: ${report.subject.model}@${report.subject.version} → ${report.stage}`,
    '',
    `**Verdict: ${report.verdict === 'passed' ? 'PASSED' : 'FAILED'}** · health score ${report.healthScore} · ${report.subject.task}`,
    ...renderRefusal(report),
    '',
    '## Checks',
    '',
    `${report.summary.passed} passed, ${report.summary.warnings} warnings, ${report.summary.failed} failed, ${report.summary.errors} errors, ${report.summary.skipped} skipped${report.summary.blocked ? ` (${report.summary.blocked} of them blocked by a failed check)` : ''} of ${report.summary.total} checks.`,
    '',
    '| check | severity | status | value | threshold | message | time |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const result of report.results) {
    const status = result.blockedBy ? `⛔ blocked by \`${result.blockedBy}\`` : STATUS_MARKS[result.status];
    lines.push(
      `| \`${result.id}\` | ${result.severity} | ${status} | ${cell(result.value)} | ${cell(result.threshold)} | ${escapeCell(result.message)} | ${result.durationMs.toFixed(0)} ms |`,
    );
  }
  const others = report.recommendations.filter(({ check }) => !report.failedChecks.includes(check));
  if (others.length > 0) {
    lines.push('', report.failedChecks.length > 0 ? '## Other recommendations' : '## Recommendations', '');
    for (const { check, recommendation } of others) lines.push(`- \`${check}\`: ${escapeCell(recommendation)}`);
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
  const sandbox = report.resources.sandbox;
  if (sandbox) {
    lines.push(
      `Sandbox process: peak RSS ${mebibytes(sandbox.peakRssBytes)}, CPU time ${(sandbox.cpuTimeMs / 1000).toFixed(1)} s; its limits: ${sandbox.limits.memoryLimitMiB} MiB of memory, ${sandbox.limits.cpuSeconds} s of CPU time, ${sandbox.limits.timeoutSeconds} s of wall-clock time.`,
      '',
      `Serving estimate ${mebibytes(sandbox.servingEstimateBytes)} (peak × 1.5): ${sandbox.recommendedContainer ? `a ${sandbox.recommendedContainer} container holds it` : 'more than a 16Gi container holds'}.`,
      '',
    );
  }
  return lines.join('\n');
}

/** Each check that refused the version: its message, what to do (once per advice), and the checks it kept from running. */
function renderRefusal(report: GateReport): string[] {
  if (report.failedChecks.length === 0) return [];
  const lines = ['', `Refused by ${report.failedChecks.map((id) => `\`${id}\``).join(', ')}.`];
  for (const id of report.failedChecks) {
    const result = report.results.find((candidate) => candidate.id === id);
    if (!result) continue;
    lines.push('', `### ${STATUS_MARKS[result.status]}: \`${id}\` (${result.severity})`, '', escapeCell(result.message));
    const listed = report.recommendations.find(({ recommendation }) => recommendation === result.recommendation);
    if (listed) lines.push('', listed.check === id ? `**What to do:** ${escapeCell(listed.recommendation)}` : `**What to do:** as for \`${listed.check}\` above.`);
    const blocked = report.results.filter((candidate) => candidate.blockedBy === id).map((candidate) => `\`${candidate.id}\``);
    if (blocked.length > 0) lines.push('', `Not run because of it (${blocked.length}): ${blocked.join(', ')}.`);
  }
  return lines;
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
        `| \`${result.id}\` | ${escapeCell(row.metric)} | ${cell(row.baseline)} | ${cell(row.candidate)} | ${ratioCell(row)} | ${escapeCell(threshold)} | ${STATUS_MARKS[verdict]} |`,
      );
    }
  }
  if (unmeasured.length > 0) lines.push('', ...unmeasured);
  return lines;
}

/** The ratio, then the interval it was decided on and the speed-up where the check measured them: `1.042× [0.981×, 1.103×] · speed-up 0.960×`. */
function ratioCell(row: ComparisonRow): string {
  if (row.ratio === null) return '—';
  // A zero baseline makes a ratio infinite, which a stored report's JSON holds as null.
  const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(3)}×` : '∞');
  const interval = row.interval ? ` [${times(row.interval[0])}, ${times(row.interval[1])}]` : '';
  const speedUp = row.speedUp === undefined ? '' : ` · speed-up ${times(row.speedUp)}`;
  return `${times(row.ratio)}${interval}${speedUp}`;
}

/**
 * The scanner's severities, most severe first: its FINDING_SEVERITIES, which
 * a spec holds this to. Spelt out rather than imported, because importing a
 * value of the scanner loads all of it (and its decompressors) into every
 * gate's sandbox, whose start-up it then lengthens whether or not the policy scans.
 */
export const REPORTED_SEVERITIES: readonly FindingSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];

/** Security findings of every check that reports them, most severe group first. */
function renderFindings(report: GateReport): string[] {
  const findings = report.results.flatMap((result) => ((result.details?.findings as SecurityFinding[] | undefined) ?? []).map((finding) => ({ check: result.id, ...finding })));
  if (findings.length === 0) return [];
  const lines = ['', '## Security findings'];
  for (const severity of REPORTED_SEVERITIES) {
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
