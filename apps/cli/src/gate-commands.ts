import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { GateRun } from './api-types';
import { ExitError, POLL_INTERVAL_MS, type CliIo, type CommandContext } from './command-context';
import { apiPath, type GatehouseClient } from './gatehouse-client';
import { humanReport } from './gate-report-output';
import { formatTable } from './output';
import { GateProgressLine } from './progress';
import { parseVersionRef, parseWholeNumber, UsageError } from './references';

const DECIDED = new Set<GateRun['status']>(['passed', 'failed', 'error']);

/** How long `--wait` follows a gate by default, in seconds. */
export const DEFAULT_WAIT_SECONDS = '600';

interface GateOptions {
  stage?: string;
  markdown?: boolean;
  wait?: boolean;
  timeout: string;
}

/** gate: the latest report of a registered version, or with --wait the run followed until it decides; gate-runs lists the runs. */
export function addGateCommands(program: Command, { client, print, io }: CommandContext): void {
  program
    .command('gate-runs')
    .description("list a version's gate runs, newest first")
    .argument('<model@version>')
    .option('--limit <n>', 'page size', '20')
    .option('--all', 'follow every page')
    .action(async (reference: string, options: { limit: string; all?: boolean }) => {
      const { model, version } = parseVersionRef(reference);
      const items = await (await client()).list<GateRun>(`/v1/models/${apiPath(model, 'versions', version)}/gate-runs`, { limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(
          ['ID', 'STAGE', 'STATUS', 'HEALTH', 'CREATED'],
          items.map((run) => [run.id, run.stage, run.status, run.healthScore === null ? '-' : String(run.healthScore), run.createdAt]),
        ),
      );
    });

  program
    .command('gate')
    .description('show the latest gate report of a registered version; exits 1 unless the gate passed')
    .argument('<model@version>')
    .option('--stage <stage>', 'the latest run of this stage only')
    .option('--markdown', 'print the Markdown report')
    .option('--wait', 'follow a run still going until it decides, showing its progress on stderr')
    .option('--timeout <seconds>', 'with --wait: give up after this long', DEFAULT_WAIT_SECONDS)
    .action(async (reference: string, options: GateOptions) => {
      const { model, version } = parseVersionRef(reference);
      const timeoutMs = parseWholeNumber(options.timeout, '--timeout') * 1000;
      const api = await client();
      const latest = await api.find<GateRun>(
        `/v1/models/${apiPath(model, 'versions', version)}/gate-runs`,
        { limit: '100' },
        (run) => !options.stage || run.stage === options.stage,
      );
      if (!latest) throw new UsageError(`${model}@${version} has no gate runs${options.stage ? ` for stage ${options.stage}` : ''}`);
      const ref = `${model}@${version}`;
      const run = options.wait ? await followGateRun(api, latest.id, ref, io.stderr, timeoutMs) : await api.get<GateRun>(`/v1/gate-runs/${apiPath(latest.id)}`);
      if (options.markdown && run.report) {
        const { renderMarkdown } = await import('./offline-gate');
        print(run, () => renderMarkdown(run.report!));
      } else {
        print(run, () => (run.report ? humanReport(run.report) : `gate run ${run.id} (${run.stage}) is ${run.status}, attempt ${run.attempts}\n`));
      }
      endOnGate(run, ref, `gatehouse gate ${ref}${options.stage ? ` --stage ${options.stage}` : ''} --wait`, options.wait ? options.timeout : undefined);
    });
}

/** Asks for a gate run until it has decided or `timeoutMs` has passed, showing its progress on `stderr`; returns the last answer. */
export async function followGateRun(api: GatehouseClient, id: string, ref: string, stderr: CliIo['stderr'], timeoutMs: number): Promise<GateRun> {
  const line = new GateProgressLine(stderr, ref);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const run = await api.get<GateRun>(`/v1/gate-runs/${apiPath(id)}`);
      if (DECIDED.has(run.status) || Date.now() >= deadline) return run;
      line.show(run);
      await sleep(POLL_INTERVAL_MS);
    }
  } finally {
    line.finish();
  }
}

/**
 * Ends a command on a gate run: returns when it passed, else exits 1 saying
 * why: the checks that refused, the error that kept it from finishing, or
 * that it is still going (after `waitedSeconds` of --wait, if it waited) and
 * how to follow it.
 */
export function endOnGate(run: GateRun, ref: string, followCommand: string, waitedSeconds?: string): void {
  const gate = `the ${run.stage} gate`;
  if (run.status === 'passed') return;
  if (run.status === 'failed') throw new ExitError(1, `${gate} refused ${ref}: ${run.failedChecks.join(', ')}`);
  if (run.status === 'error') throw new ExitError(1, `${gate} on ${ref} could not finish: ${run.lastError?.message ?? 'see gatehouse gate'}`);
  const still = waitedSeconds === undefined ? `is still ${run.status}` : `is still ${run.status} after ${waitedSeconds} s`;
  throw new ExitError(1, `${gate} on ${ref} ${still}, so it has not passed; ${followCommand} follows it until it decides`);
}
