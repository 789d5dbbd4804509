import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { Lineage, Promotion, StageEvent, StageHolder, Version } from './api-types';
import type { ClientFactory, Printer } from './cli';
import { apiPath } from './gatehouse-client';
import { describeStageEvent, lineageTree, renderTree, type TreeNode } from './lineage-tree';
import { formatFields, formatTable } from './output';
import { parseVersionRef, UsageError } from './references';

/** Exit code 1 after the request's state was printed: it was rejected, or did not settle in time. */
export class PromotionRefused extends Error {}

const SERVING_STAGES = ['staging', 'canary', 'production'];
const UNSETTLED = new Set<Promotion['status']>(['queued', 'gating']);
const DECIDED = { approve: 'approved', reject: 'rejected' } as const;

interface PromoteOptions {
  to: string;
  traffic?: string;
  reason?: string;
  wait?: boolean;
  timeout: string;
}

/** promote, promotion, approve, reject, rollback, stages, history and lineage. */
export function addPromotionCommands(program: Command, client: ClientFactory, print: Printer, pollMs = 500): void {
  program
    .command('promote')
    .description('request promotion to a stage; its gate runs, then approvals where policy asks')
    .argument('<model@version>')
    .addOption(new Option('--to <stage>', 'target stage').choices(SERVING_STAGES).makeOptionMandatory())
    .option('--traffic <percent>', 'canary only: the share of request keys it serves (1-100)')
    .option('--reason <text>', 'why, for the audit log and the approvers')
    .option('--wait', 'follow the request until its gate has decided; exit 1 if it is rejected')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '600')
    .action(async (reference: string, options: PromoteOptions) => {
      const { model, version } = parseVersionRef(reference);
      const trafficPercent = options.traffic === undefined ? undefined : wholeNumber(options.traffic, '--traffic');
      const timeoutMs = wholeNumber(options.timeout, '--timeout') * 1000;
      const api = await client();
      let promotion = await api.post<Promotion>(`/v1/models/${apiPath(model, 'versions', version)}/promotions`, { stage: options.to, trafficPercent, reason: options.reason });
      const deadline = Date.now() + timeoutMs;
      while (options.wait && UNSETTLED.has(promotion.status) && Date.now() < deadline) {
        await sleep(pollMs);
        promotion = await api.get<Promotion>(`/v1/promotions/${apiPath(promotion.id)}`);
      }
      print(promotion, () => describePromotion(promotion));
      if (promotion.status === 'rejected') throw new PromotionRefused();
      if (options.wait && UNSETTLED.has(promotion.status)) throw new PromotionRefused(`still ${promotion.status} after ${options.timeout} s`);
    });

  program
    .command('promotion')
    .description('show where a promotion request is')
    .argument('<promotion-id>')
    .action(async (id: string) => {
      const promotion = await (await client()).get<Promotion>(`/v1/promotions/${apiPath(id)}`);
      print(promotion, () => describePromotion(promotion));
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a promotion request awaiting approval (approver role; never your own request)`)
      .argument('<promotion-id>')
      .option('--comment <text>', 'recorded with the decision in the audit log')
      .action(async (id: string, options: { comment?: string }) => {
        const promotion = await (await client()).post<Promotion>(`/v1/promotions/${apiPath(id)}/approvals`, { decision, comment: options.comment });
        print(promotion, () => describePromotion(promotion));
      });
  }

  program
    .command('rollback')
    .description('put production back to the version that served before (or --to one), or abort the canary')
    .argument('<model>')
    .option('--to <version>', 'a version that has served in production')
    .addOption(new Option('--stage <stage>', 'canary aborts the canary').choices(['production', 'canary']).default('production'))
    .requiredOption('--reason <text>', 'why, for the audit log')
    .action(async (model: string, options: { to?: string; stage: 'production' | 'canary'; reason: string }) => {
      const result = await (await client()).post<{ model: string; stage: string; rolledBack: string; restored: string | null }>(
        `/v1/models/${apiPath(model)}/rollback`,
        { stage: options.stage, toVersion: options.to, reason: options.reason },
      );
      print(result, () =>
        result.restored
          ? `${model} ${result.stage}: ${result.rolledBack} rolled back, ${result.restored} serves again\n`
          : `${model} ${result.stage}: ${result.rolledBack} aborted; production serves every request\n`,
      );
    });

  program
    .command('stages')
    .description('the version at each stage of a model')
    .argument('<model>')
    .action(async (model: string) => {
      const { stages } = await (await client()).get<{ stages: Record<string, StageHolder | null> }>(`/v1/models/${apiPath(model)}/stages`);
      print({ model, stages }, () =>
        formatTable(
          ['STAGE', 'VERSION', 'TRAFFIC', 'BY', 'SINCE', 'PROMOTION'],
          SERVING_STAGES.map((stage) => {
            const holder = stages[stage];
            return [stage, holder?.version, holder?.trafficPercent === null || !holder ? null : `${holder.trafficPercent}%`, holder?.assignedBy, holder?.assignedAt, holder?.promotionId];
          }),
        ),
      );
    });

  program
    .command('history')
    .description('every stage move of a model\'s versions, newest first')
    .argument('<model>')
    .action(async (model: string) => {
      const history = await (await client()).get<{ model: string; items: StageEvent[] }>(`/v1/models/${apiPath(model)}/history`);
      print(history, () => formatTable(['TIME', 'VERSION', 'MOVE'], history.items.map((event) => [event.at, event.version, describeStageEvent(event)])));
    });

  program
    .command('lineage')
    .description('a version\'s lineage as a tree: where it came from, what it was trained on, its stage history, what derives from it')
    .argument('<model@version>')
    .addOption(new Option('--direction <direction>', 'ancestors (up), descendants (down) or both').choices(['up', 'down', 'both']).default('both'))
    .option('--depth <n>', 'edges to follow (1-50)', '10')
    .action(async (reference: string, options: { direction: string; depth: string }) => {
      const { model, version } = parseVersionRef(reference);
      const api = await client();
      const base = `/v1/models/${apiPath(model, 'versions', version)}`;
      const [lineage, shown] = await Promise.all([
        api.get<Lineage>(`${base}/lineage?direction=${options.direction}&depth=${wholeNumber(options.depth, '--depth')}`),
        api.get<Version>(base),
      ]);
      print(lineage, () => {
        const tree = lineageTree(lineage);
        tree.children.unshift(...trainingDetails(shown));
        return renderTree(tree);
      });
    });
}

function describePromotion(promotion: Promotion): string {
  const approvals = promotion.decisions.filter((d) => d.decision === 'approve');
  const target = promotion.trafficPercent === null ? promotion.stage : `${promotion.stage} (${promotion.trafficPercent}% of keys)`;
  const fields = formatFields([
    ['promotion', promotion.id],
    ['version', `${promotion.model}@${promotion.version} → ${target}`],
    ['status', promotion.status],
    ['requested', `${promotion.createdAt} by ${promotion.requestedBy}`],
    ['reason', promotion.reason],
    ['approvals', promotion.requiredApprovals === 0 ? 'not required' : `${approvals.length} of ${promotion.requiredApprovals}`],
    ['gate run', promotion.gateRunId],
    ['closed', promotion.completedAt],
  ]);
  const lines = [fields.trimEnd()];
  for (const decision of promotion.decisions) lines.push(`  ${DECIDED[decision.decision]} by ${decision.actor} at ${decision.decidedAt}${decision.comment ? `: "${decision.comment}"` : ''}`);
  if (promotion.outcome) lines.push(`outcome: ${promotion.outcome.message}`);
  if (promotion.outcome?.failedChecks?.length) lines.push(`failed checks: ${promotion.outcome.failedChecks.join(', ')} (gatehouse gate ${promotion.model}@${promotion.version} --stage ${promotion.stage})`);
  if (promotion.status === 'awaiting_approval') lines.push(`next: an approver runs gatehouse approve ${promotion.id}`);
  return `${lines.join('\n')}\n`;
}

/** Where the queried version came from, ahead of its lineage. */
function trainingDetails(version: Version): TreeNode[] {
  const leaf = (label: string): TreeNode => ({ label, children: [] });
  const details: TreeNode[] = [];
  const source = [version.source?.repository, version.source?.commit && `commit ${version.source.commit}`, version.source?.runId && `run ${version.source.runId}`].filter(Boolean);
  if (source.length > 0) details.push(leaf(`source: ${source.join(' · ')}`));
  for (const [name, values] of [['training config', version.params], ['environment', version.environment]] as const) {
    const entries = Object.entries(values ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length > 0) details.push({ label: name, children: entries.map(([key, value]) => leaf(`${key}: ${JSON.stringify(value)}`)) });
  }
  return details;
}

function wholeNumber(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} takes a whole number, not "${text}"`);
  return Number(text);
}
