import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { Promotion, StageEvent, StageHolder } from './api-types';
import { ExitError, POLL_INTERVAL_MS, type CommandContext } from './command-context';
import { apiPath, type GatehouseClient } from './gatehouse-client';
import { describeStageEvent } from './lineage-tree';
import { formatFields, formatTable } from './output';
import { parseVersionRef, parseWholeNumber, UsageError } from './references';

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

/** promote, promotions, promotion, approve, reject, rollback, stages and history. */
export function addPromotionCommands(program: Command, { client, print }: CommandContext): void {
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
      const trafficPercent = options.traffic === undefined ? undefined : parseWholeNumber(options.traffic, '--traffic');
      const timeoutMs = parseWholeNumber(options.timeout, '--timeout') * 1000;
      const api = await client();
      let promotion = await api.post<Promotion>(
        `/v1/models/${apiPath(model, 'versions', version)}/promotions`,
        { stage: options.to, trafficPercent, reason: options.reason },
        { stage: '--to', trafficPercent: '--traffic', reason: '--reason' },
      );
      const deadline = Date.now() + timeoutMs;
      while (options.wait && UNSETTLED.has(promotion.status) && Date.now() < deadline) {
        await sleep(POLL_INTERVAL_MS);
        promotion = await api.get<Promotion>(`/v1/promotions/${apiPath(promotion.id)}`);
      }
      print(promotion, () => describePromotion(promotion));
      // The request's state is printed: a rejection needs no more words.
      if (promotion.status === 'rejected') throw new ExitError(1);
      if (options.wait && UNSETTLED.has(promotion.status)) throw new ExitError(1, `still ${promotion.status} after ${options.timeout} s`);
    });

  program
    .command('promotions')
    .description("list a version's promotion requests, newest first")
    .argument('<model@version>')
    .option('--limit <n>', 'page size', '20')
    .option('--all', 'follow every page')
    .action(async (reference: string, options: { limit: string; all?: boolean }) => {
      const { model, version } = parseVersionRef(reference);
      const items = await (await client()).list<Promotion>(`/v1/models/${apiPath(model, 'versions', version)}/promotions`, { limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(
          ['ID', 'STAGE', 'STATUS', 'REQUESTED BY', 'CREATED'],
          items.map((promotion) => [promotion.id, promotion.stage, promotion.status, promotion.requestedBy, promotion.createdAt]),
        ),
      );
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
      .argument('<model@version|promotion-id>', "the version's request awaiting approval, or a request by its id")
      .option('--comment <text>', 'recorded with the decision in the audit log')
      .action(async (target: string, options: { comment?: string }) => {
        const api = await client();
        const id = target.includes('@') ? await awaitingApproval(api, target) : target;
        const promotion = await api.post<Promotion>(`/v1/promotions/${apiPath(id)}/approvals`, { decision, comment: options.comment });
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
      const result = await (
        await client()
      ).post<{ model: string; stage: string; rolledBack: string; restored: string | null }>(`/v1/models/${apiPath(model)}/rollback`, {
        stage: options.stage,
        toVersion: options.to,
        reason: options.reason,
      });
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
            return [
              stage,
              holder?.version,
              holder?.trafficPercent === null || !holder ? null : `${holder.trafficPercent}%`,
              holder?.assignedBy,
              holder?.assignedAt,
              holder?.promotionId,
            ];
          }),
        ),
      );
    });

  program
    .command('history')
    .description("every stage move of a model's versions, newest first")
    .argument('<model>')
    .action(async (model: string) => {
      const history = await (await client()).get<{ model: string; items: StageEvent[] }>(`/v1/models/${apiPath(model)}/history`);
      print(history, () =>
        formatTable(
          ['TIME', 'VERSION', 'MOVE'],
          history.items.map((event) => [event.at, event.version, describeStageEvent(event)]),
        ),
      );
    });
}

/** The id of the one request of a version that waits on approvers; approvers think in versions, not request ids. */
async function awaitingApproval(api: GatehouseClient, reference: string): Promise<string> {
  const { model, version } = parseVersionRef(reference);
  const promotions = await api.list<Promotion>(`/v1/models/${apiPath(model, 'versions', version)}/promotions`, { limit: '100' }, true);
  const waiting = promotions.filter((promotion) => promotion.status === 'awaiting_approval');
  if (waiting.length === 1) return waiting[0].id;
  if (waiting.length === 0) throw new UsageError(`${reference} has no promotion request awaiting approval (gatehouse promote ${reference} --to STAGE makes one)`);
  throw new UsageError(
    `${reference} has ${waiting.length} requests awaiting approval; name one by its id: ${waiting.map((promotion) => `${promotion.id} (${promotion.stage})`).join(', ')}`,
  );
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
  for (const decision of promotion.decisions)
    lines.push(`  ${DECIDED[decision.decision]} by ${decision.actor} at ${decision.decidedAt}${decision.comment ? `: "${decision.comment}"` : ''}`);
  if (promotion.outcome) lines.push(`outcome: ${promotion.outcome.message}`);
  if (promotion.outcome?.failedChecks?.length)
    lines.push(`failed checks: ${promotion.outcome.failedChecks.join(', ')} (gatehouse gate ${promotion.model}@${promotion.version} --stage ${promotion.stage})`);
  if (promotion.status === 'awaiting_approval') lines.push(`next: an approver runs gatehouse approve ${promotion.model}@${promotion.version} (or ${promotion.id})`);
  return `${lines.join('\n')}\n`;
}
