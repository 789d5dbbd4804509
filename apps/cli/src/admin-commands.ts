import { Command } from 'commander';
import type { CollectionReport, GateRunState, RescanResult } from './api-types';
import { ExitError, POLL_INTERVAL_MS, type CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import { formatBytes, formatTable } from './output';
import { parseWholeNumber } from './references';

const FINISHED = new Set<GateRunState['status']>(['passed', 'failed', 'error']);

/** admin rescan (re-scan what serves or is validated under the scanner and policy in force) and admin gc (collect unreferenced blobs). */
export function addAdminCommands(program: Command, { client, print }: CommandContext): void {
  const admin = program.command('admin').description('registry administration (admin role)');
  admin
    .command('rescan')
    .description('re-scan the versions that serve or are validated whose scan verdict predates the scanner or policy in force')
    .option('--all', 'every version that serves or is validated, not only out-of-date ones')
    .option('--wait', 'follow the re-scans until they finish; exit 1 if any version is flagged')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '600')
    .action(async (options: { all?: boolean; wait?: boolean; timeout: string }) => {
      const timeoutMs = parseWholeNumber(options.timeout, '--timeout') * 1000;
      const api = await client();
      const result = await api.post<RescanResult>('/v1/admin/rescan', { all: options.all ?? false });
      const outcomes = new Map<string, GateRunState['status']>();
      if (options.wait) {
        const deadline = Date.now() + timeoutMs;
        const pending = new Set([...result.queued, ...result.alreadyQueued].map((entry) => entry.gateRunId));
        while (pending.size > 0 && Date.now() < deadline) {
          for (const id of pending) {
            const run = await api.get<GateRunState>(`/v1/gate-runs/${apiPath(id)}`);
            outcomes.set(id, run.status);
            if (FINISHED.has(run.status)) pending.delete(id);
          }
          if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
        }
      }
      const runs = [
        ...result.queued.map((entry) => ({ ...entry, queuedBy: 'this request' })),
        ...result.alreadyQueued.map((entry) => ({ ...entry, stage: '', reason: '', queuedBy: 'earlier' })),
      ].map((entry) => ({ ...entry, status: outcomes.get(entry.gateRunId) ?? 'queued' }));
      print({ ...result, ...(options.wait ? { runs } : {}) }, () => describeRescan(result, runs));
      if (!options.wait) return;
      if (runs.some((run) => run.status === 'failed')) throw new ExitError(1);
      if (runs.some((run) => !FINISHED.has(run.status))) throw new Error(`re-scans still unfinished after ${options.timeout} s`);
    });

  admin
    .command('gc')
    .description('delete blobs that no version, dataset or upload in flight holds, once older than the grace period (GC_GRACE_MINUTES), and stale temporary uploads')
    .option('--dry-run', 'report what would be deleted, deleting nothing')
    .action(async (options: { dryRun?: boolean }) => {
      const report = await (await client()).post<CollectionReport>('/v1/admin/gc', { dryRun: options.dryRun ?? false });
      print(report, () => describeCollection(report));
    });
}

function describeCollection(report: CollectionReport): string {
  const count = (what: { count: number; bytes: number }) => `${what.count} (${formatBytes(what.bytes)})`;
  const temporaries = report.temporaries ? `${report.temporaries.removed} removed, ${report.temporaries.abortedUploads ?? 'n/a'} unfinished uploads aborted` : 'left (dry run)';
  return `${formatTable(
    ['', 'BLOBS'],
    [
      [report.dryRun ? 'to collect (dry run)' : 'collected', count(report.collected)],
      ['kept (referenced or leased)', count(report.kept)],
      [`younger than ${report.graceSeconds} s`, count(report.young)],
      ['scanned', count(report.scanned)],
      ['temporary uploads', temporaries],
    ],
  )}`;
}

function describeRescan(
  result: RescanResult,
  runs: { model: string; version: string; stage: string; reason: string; gateRunId: string; status: string; queuedBy: string }[],
): string {
  const lines = [`scanner ${result.scannerVersion}: ${result.queued.length} re-scan(s) queued, ${result.alreadyQueued.length} already queued`];
  if (runs.length > 0) {
    lines.push(
      formatTable(
        ['MODEL', 'VERSION', 'STAGE', 'REASON', 'QUEUED BY', 'GATE RUN', 'STATUS'],
        runs.map((run) => [run.model, run.version, run.stage, run.reason, run.queuedBy, run.gateRunId, run.status === 'failed' ? 'failed (flagged)' : run.status]),
      ).trimEnd(),
    );
  }
  if (result.unscannable.length > 0) lines.push(`no stage policy scans, not re-scanned: ${result.unscannable.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
