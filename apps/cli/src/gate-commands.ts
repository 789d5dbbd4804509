import type { Command } from 'commander';
import type { GateReport } from '@gatehouse/gate-engine';
import type { CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import { humanReport } from './gate-report-output';
import { parseVersionRef, UsageError } from './references';

interface GateRunSummary {
  id: string;
  stage: string;
  status: string;
  healthScore: number | null;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  report: GateReport | null;
}

/** gate: the latest report of a registered version. */
export function addGateCommands(program: Command, { client, print }: CommandContext): void {
  program
    .command('gate')
    .description('show the latest gate report of a registered version')
    .argument('<model@version>')
    .option('--stage <stage>', 'the latest run of this stage only')
    .option('--markdown', 'print the Markdown report')
    .action(async (reference: string, options: { stage?: string; markdown?: boolean }) => {
      const { model, version } = parseVersionRef(reference);
      const api = await client();
      const { items } = await api.get<{ items: GateRunSummary[] }>(`/v1/models/${apiPath(model, 'versions', version)}/gate-runs?limit=100`);
      const latest = items.find((run) => !options.stage || run.stage === options.stage);
      if (!latest) throw new UsageError(`${model}@${version} has no gate runs${options.stage ? ` for stage ${options.stage}` : ''}`);
      const run = await api.get<GateRunSummary>(`/v1/gate-runs/${latest.id}`);
      if (options.markdown && run.report) {
        const { renderMarkdown } = await import('./offline-gate');
        print(run, () => renderMarkdown(run.report!));
        return;
      }
      print(run, () => (run.report ? humanReport(run.report) : `gate run ${run.id} (${run.stage}) is ${run.status}, attempt ${run.attempts}\n`));
    });
}
