import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { VersionService, type StagePointers } from '@gatehouse/catalog';
import { decodeCursor, keysetPage, type RecentPageQuery } from '@gatehouse/openapi';
import { StagePointerService } from './stage-pointer.service';
import { TransactionRunner } from '@gatehouse/database';
import type { Task } from '@gatehouse/gate-engine';
import { GateRunFinished, GateRunService, type FinishedGateRun } from '@gatehouse/gates';
import { MetricsService } from '@gatehouse/metrics';
import type { DecideDto, PromotionList, PromotionResponse, RequestPromotionDto } from './dto/promotion.dto';
import { InvalidTrafficError, PromotionInProgressError, PromotionNotAllowedError, PromotionNotFoundError, VersionFlaggedError } from './errors';
import { PromotionPolicy } from './promotion-policy';
import { assertPromotable, decisionEffect } from './promotion-rules';
import { PromotionRepository, type DecisionRow, type PromotionOutcome, type PromotionRow } from './promotion.repository';

export const PROMOTION_POLICY = Symbol('PROMOTION_POLICY');

const DEFAULT_PAGE_SIZE = 20;

/**
 * Promotion requests: each runs the target stage's gate on the candidate,
 * collects the approvals the policy asks for, then moves the stage pointer in
 * one transaction behind the model's row lock. A request whose gate was run
 * against a stage or production that has changed since is gated again, never
 * completed on a stale report.
 */
@Injectable()
export class PromotionService implements OnModuleInit {
  constructor(
    private readonly promotions: PromotionRepository,
    private readonly versions: VersionService,
    private readonly stages: StagePointerService,
    private readonly gates: GateRunService,
    private readonly gateRunFinished: GateRunFinished,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    private readonly metrics: MetricsService,
    @Inject(PROMOTION_POLICY) private readonly policy: PromotionPolicy,
  ) {}

  onModuleInit(): void {
    this.gateRunFinished.subscribe((tx, run) => this.gateFinished(tx, run));
  }

  async request(actor: Principal, modelName: string, versionName: string, body: RequestPromotionDto): Promise<PromotionResponse> {
    const version = await this.versions.lookup(modelName, versionName);
    const ref = `${modelName}@${versionName}`;
    const rule = this.policy.rule(body.stage);
    if (!rule) throw new PromotionNotAllowedError(ref, body.stage, 'the promotion policy allows no promotions to it');
    if (body.stage === 'canary' && body.trafficPercent === undefined) throw new InvalidTrafficError('a canary needs trafficPercent, from 1 to 100');
    if (body.stage !== 'canary' && body.trafficPercent !== undefined) throw new InvalidTrafficError(`trafficPercent applies to canary only, not ${body.stage}`);
    const id = await this.transactions.run(async (tx) => {
      const pointers = await this.stages.lock(tx, version.modelId);
      assertPromotable(ref, body.stage, rule, await this.stages.versionState(tx, version.id));
      if (await this.promotions.openFor(tx, version.modelId, body.stage)) throw new PromotionInProgressError(modelName, body.stage);
      const promotionId = await this.promotions.insert(tx, {
        modelId: version.modelId,
        versionId: version.id,
        stage: body.stage,
        trafficPercent: body.trafficPercent ?? null,
        reason: body.reason ?? null,
        requestedBy: actor.name,
        requestedByToken: actor.tokenId,
        requiredApprovals: rule.approvals,
        approverRoles: rule.approvers,
      });
      const gateRunId = await this.queueGate(
        tx,
        { id: promotionId, modelId: version.modelId, versionId: version.id, model: modelName, version: versionName, stage: body.stage },
        version.task,
        pointers,
        actor.name,
      );
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'promotion.requested',
        subject: `version:${ref}`,
        payload: {
          promotionId,
          stage: body.stage,
          trafficPercent: body.trafficPercent ?? null,
          reason: body.reason ?? null,
          requiredApprovals: rule.approvals,
          approverRoles: rule.approvers,
          gateRunId,
        },
      });
      return promotionId;
    });
    this.gates.wake();
    return this.get(id);
  }

  async get(id: string): Promise<PromotionResponse> {
    const promotion = /^[0-9a-f-]{36}$/i.test(id) ? await this.promotions.find(id) : undefined;
    if (!promotion) throw new PromotionNotFoundError(id);
    return view(promotion, await this.promotions.decisions(promotion.id));
  }

  /** A page of a version's requests, newest first: two queries whatever its size, the requests and then all their decisions. */
  async list(modelName: string, versionName: string, query: RecentPageQuery): Promise<PromotionList> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const beforeSeq = query.cursor === undefined ? undefined : decodeCursor<number>(query.cursor, 'number');
    const version = await this.versions.lookup(modelName, versionName);
    const rows = await this.promotions.listForVersion(version.id, limit + 1, beforeSeq);
    const decisions = await this.promotions.decisionsOf(rows.slice(0, limit).map((row) => row.id));
    return keysetPage(
      rows,
      limit,
      (row) => row.seq,
      (row) => view(row, decisions.get(row.id)!),
    );
  }

  /**
   * An approver's decision: one per token, from the roles the request's
   * policy lists as approvers. A reject ends the request. The promotion's row
   * lock serialises decisions on it, so the earlier decisions read under it
   * are current and two identical decisions racing cannot both count.
   */
  async decide(actor: Principal, id: string, body: DecideDto): Promise<PromotionResponse> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new PromotionNotFoundError(id);
    await this.transactions.run(async (tx) => {
      const promotion = await this.promotions.find(id, tx, true);
      if (!promotion) throw new PromotionNotFoundError(id);
      const effect = decisionEffect(promotion, actor, body.decision, await this.promotions.decisions(id, tx), this.policy.source);
      await this.promotions.decide(tx, id, { tokenId: actor.tokenId, actor: actor.name, decision: body.decision, comment: body.comment ?? null });
      if (effect.kind === 'rejects') {
        await this.reject(tx, promotion, { code: 'rejected_by_approver', message: `rejected by ${actor.name}${body.comment ? `: ${body.comment}` : ''}` }, actor.name, {
          comment: body.comment ?? null,
        });
        return;
      }
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'promotion.approved',
        subject: `version:${promotion.model}@${promotion.version}`,
        payload: { promotionId: id, stage: promotion.stage, comment: body.comment ?? null, approvals: effect.approvals, requiredApprovals: promotion.requiredApprovals },
      });
      if (effect.completes) await this.complete(tx, promotion, actor.name);
    });
    this.gates.wake();
    return this.get(id);
  }

  /** In the transaction that records a gate run's outcome: moves the request it belongs to along. */
  private async gateFinished(tx: EntityManager, run: FinishedGateRun): Promise<void> {
    const promotion = await this.promotions.findByGateRun(tx, run.runId);
    if (!promotion || promotion.status !== 'gating') return;
    if (run.status !== 'passed') {
      const failedChecks = run.report?.failedChecks ?? [];
      const message =
        run.status === 'failed'
          ? `the ${promotion.stage} gate refused it: ${failedChecks.join(', ')}`
          : `the ${promotion.stage} gate could not finish: ${run.error?.message ?? 'unknown error'}`;
      await this.reject(tx, promotion, { code: run.status === 'failed' ? 'gate_failed' : 'gate_error', message, failedChecks }, run.actor, { gateRunId: run.runId });
      return;
    }
    const approvals = (await this.promotions.decisions(promotion.id, tx)).filter((decision) => decision.decision === 'approve').length;
    if (approvals >= promotion.requiredApprovals) {
      await this.complete(tx, promotion, run.actor);
      return;
    }
    await this.promotions.setStatus(tx, promotion.id, 'awaiting_approval');
    await this.audit.append(tx, {
      actor: run.actor,
      action: 'promotion.awaiting_approval',
      subject: `version:${promotion.model}@${promotion.version}`,
      payload: { promotionId: promotion.id, stage: promotion.stage, gateRunId: run.runId, requiredApprovals: promotion.requiredApprovals, approvals },
    });
  }

  /**
   * Moves the pointer if the world is still the one the gate judged: the
   * version may still go there, and neither the target stage nor production
   * changed hands since. Otherwise the request is rejected or gated again.
   */
  private async complete(tx: EntityManager, promotion: PromotionRow, actor: string): Promise<void> {
    const pointers = await this.stages.lock(tx, promotion.modelId);
    const ref = `${promotion.model}@${promotion.version}`;
    const subject = `version:${ref}`;
    const state = await this.stages.versionState(tx, promotion.versionId);
    try {
      assertPromotable(ref, promotion.stage, this.policy.rule(promotion.stage), state);
    } catch (error) {
      if (!(error instanceof PromotionNotAllowedError || error instanceof VersionFlaggedError)) throw error;
      await this.reject(tx, promotion, { code: error instanceof VersionFlaggedError ? error.code : 'no_longer_allowed', message: error.message }, actor, {});
      return;
    }
    const holder = pointers[promotion.stage]?.versionId ?? null;
    const production = pointers.production?.versionId ?? null;
    if (holder !== promotion.expectedStageVersionId || production !== promotion.expectedProductionVersionId) {
      const gateRunId = await this.queueGate(tx, promotion, state.task, pointers, actor);
      await this.audit.append(tx, {
        actor,
        action: 'promotion.regated',
        subject,
        payload: {
          promotionId: promotion.id,
          stage: promotion.stage,
          staleGateRunId: promotion.gateRunId,
          gateRunId,
          reason: `${holder !== promotion.expectedStageVersionId ? promotion.stage : 'production'} changed since the gate ran`,
        },
      });
      return;
    }
    const approvers = (await this.promotions.decisions(promotion.id, tx)).filter((decision) => decision.decision === 'approve').map((decision) => decision.actor);
    const replaced = await this.stages.move(tx, {
      modelId: promotion.modelId,
      versionId: promotion.versionId,
      stage: promotion.stage,
      trafficPercent: promotion.trafficPercent,
      actor: promotion.requestedBy,
      action: 'promoted',
      approvers,
      promotionId: promotion.id,
      gateRunId: promotion.gateRunId,
      reason: promotion.reason,
    });
    await this.promotions.setStatus(tx, promotion.id, 'completed');
    this.transactions.afterCommit(tx, () => this.metrics.promotionDecided(promotion.stage, 'completed'));
    await this.audit.append(tx, {
      actor,
      action: 'promotion.completed',
      subject,
      payload: {
        promotionId: promotion.id,
        stage: promotion.stage,
        trafficPercent: promotion.trafficPercent,
        replaced: replaced?.version ?? null,
        requestedBy: promotion.requestedBy,
        approvers,
        gateRunId: promotion.gateRunId,
      },
    });
  }

  private async reject(tx: EntityManager, promotion: PromotionRow, outcome: PromotionOutcome, actor: string, extra: Record<string, unknown>): Promise<void> {
    await this.promotions.setStatus(tx, promotion.id, 'rejected', outcome);
    this.transactions.afterCommit(tx, () => this.metrics.promotionDecided(promotion.stage, 'rejected'));
    await this.audit.append(tx, {
      actor,
      action: 'promotion.rejected',
      subject: `version:${promotion.model}@${promotion.version}`,
      payload: { promotionId: promotion.id, stage: promotion.stage, ...outcome, ...extra },
    });
  }

  /** Queues the target stage's gate and records the stage and production it will be judged against. */
  private async queueGate(
    tx: EntityManager,
    promotion: Pick<PromotionRow, 'id' | 'modelId' | 'versionId' | 'model' | 'version' | 'stage'>,
    task: Task,
    pointers: StagePointers,
    actor: string,
  ): Promise<string> {
    const run = await this.gates.enqueue(tx, {
      versionId: promotion.versionId,
      baselineVersionId: pointers.production?.versionId ?? null,
      ref: { model: promotion.model, version: promotion.version },
      task,
      stage: promotion.stage,
      trigger: 'promotion',
      actor,
    });
    await this.promotions.gateWith(tx, promotion.id, run.id, {
      expectedStageVersionId: pointers[promotion.stage]?.versionId ?? null,
      expectedProductionVersionId: pointers.production?.versionId ?? null,
    });
    return run.id;
  }
}

/** The response for a request and its decisions; the gate run status comes joined in with the row. */
function view(promotion: PromotionRow, decisions: DecisionRow[]): PromotionResponse {
  return {
    id: promotion.id,
    model: promotion.model,
    version: promotion.version,
    stage: promotion.stage,
    trafficPercent: promotion.trafficPercent,
    reason: promotion.reason,
    // A request gating on a run no worker has claimed yet is shown as queued.
    status: promotion.status === 'gating' && promotion.gateRunStatus === 'queued' ? 'queued' : promotion.status,
    requestedBy: promotion.requestedBy,
    requiredApprovals: promotion.requiredApprovals,
    approverRoles: promotion.approverRoles,
    decisions: decisions.map((decision) => ({
      actor: decision.actor,
      decision: decision.decision,
      comment: decision.comment,
      decidedAt: new Date(decision.decidedAt).toISOString(),
    })),
    gateRunId: promotion.gateRunId,
    gateRuns: promotion.gateRuns,
    outcome: promotion.outcome,
    createdAt: new Date(promotion.createdAt).toISOString(),
    updatedAt: new Date(promotion.updatedAt).toISOString(),
    completedAt: promotion.completedAt ? new Date(promotion.completedAt).toISOString() : null,
    links: {
      self: `/v1/promotions/${promotion.id}`,
      gateRun: promotion.gateRunId ? `/v1/gate-runs/${promotion.gateRunId}` : null,
      gateReport: promotion.gateRunId ? `/v1/gate-runs/${promotion.gateRunId}/report.md` : null,
    },
  };
}
