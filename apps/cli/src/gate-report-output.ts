import type { GateReport } from '@gatehouse/gate-engine';
import { formatTable } from './output';

/** A gate report as the table `validate` and `gate` print. */
export function humanReport(report: GateReport): string {
  const rows = report.results.map((result) => [
    result.id,
    result.severity,
    result.blockedBy ? `blocked by ${result.blockedBy}` : result.status,
    formatValue(result.value),
    formatValue(result.threshold),
    result.message,
  ]);
  const lines = [
    `${report.subject.model}@${report.subject.version} → ${report.stage}: ${report.verdict.toUpperCase()} (health ${report.healthScore})`,
    formatTable(['check', 'severity', 'status', 'value', 'threshold', 'message'], rows).trimEnd(),
  ];
  if (report.failedChecks.length > 0) lines.push(`refused by: ${report.failedChecks.join(', ')}`);
  if (report.blockedChecks?.length) lines.push(`not run because of them: ${report.blockedChecks.join(', ')}`);
  // The refusing checks' advice comes first, each distinct advice once.
  for (const { check, recommendation } of report.recommendations) lines.push(`  ${check}: ${recommendation}`);
  return `${lines.join('\n')}\n`;
}

function formatValue(value: GateReport['results'][number]['value']): string {
  if (value === null) return '';
  return typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(4) : String(value);
}
