import { Injectable } from '@nestjs/common';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { DomainError } from '@gatehouse/errors';
import { ModelService, VersionService, type StageAssignmentRow, type StagePointers } from '@gatehouse/catalog';
import type { EntityManager } from 'typeorm';
import { StagePointerService } from './stage-pointer.service';
import { TransactionRunner } from '@gatehouse/database';
import type { ResolveResponse, RollbackDto, RollbackResponse } from './dto/promotion.dto';
import { NoServingVersionError, NothingToRollBackError } from './errors';
import { servesCanary } from './traffic-split';

/** What serves a model's requests, and taking a bad version out of service. */
@Injectable()
export class ServingService {
  constructor(
    private readonly models: ModelService,
    private readonly versions: VersionService,
    private readonly stages: StagePointerService,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
  ) {}

  /** The canary for its share of keys, production otherwise; production alone without a key. */
  async resolve(modelName: string, key?: string): Promise<ResolveResponse> {
    return servingVersion(modelName, await this.stages.servingPointers(modelName), key);
  }

  /** {@link resolve} from cached pointers in the same tick; undefined when they must be loaded. */
  resolveCached(modelName: string, key?: string): ResolveResponse | undefined {
    const pointers = this.stages.cachedServingPointers(modelName);
    return pointers && servingVersion(modelName, pointers, key);
  }

  /** Takes the canary out of service, audited: in the caller's transaction, after StagePointerService.lock. */
  async retireCanary(tx: EntityManager, abort: CanaryAbort): Promise<void> {
    await this.stages.retire(tx, abort.modelId, abort.canary, 'canary_aborted', abort.actor, abort.reason);
    await this.audit.append(tx, {
      actor: abort.actor,
      action: 'stage.canary_aborted',
      subject: `version:${abort.modelName}@${abort.canary.version}`,
      payload: { trafficPercent: abort.canary.trafficPercent, reason: abort.reason, ...(abort.evidence ? { evidence: abort.evidence } : {}) },
    });
  }

  /**
   * Production goes back to the version that served before the current one
   * (or a named one that has served), the current one becomes rolled_back;
   * for canary, the canary is aborted. One transaction behind the model lock.
   */
  async rollback(actor: Principal, modelName: string, body: RollbackDto): Promise<RollbackResponse> {
    const stage = body.stage ?? 'production';
    if (stage === 'canary' && body.toVersion) throw new DomainError('invalid', 'invalid_rollback', 'toVersion applies to production only: rolling back a canary aborts it');
    const modelId = await this.models.idOf(modelName);
    const named = body.toVersion ? await this.versions.lookup(modelName, body.toVersion) : undefined;
    return this.transactions.run(async (tx) => {
      const pointers = await this.stages.lock(tx, modelId);
      const current = pointers[stage];
      if (!current)
        throw new NothingToRollBackError(stage === 'canary' ? `model ${modelName} has no canary to abort` : `model ${modelName} has no version in production to roll back`);
      if (stage === 'canary') {
        await this.retireCanary(tx, { modelId, modelName, canary: current, actor: actor.name, reason: body.reason });
        return { model: modelName, stage, rolledBack: current.version, restored: null };
      }
      const target = named
        ? (await this.stages.servedAt(tx, modelId, 'production')).find((entry) => entry.versionId === named.id)
        : await this.previousProduction(tx, modelId, current);
      if (named && !target) throw new NothingToRollBackError(`${modelName}@${body.toVersion} has never served in production`);
      if (named && target!.versionId === current.versionId) throw new NothingToRollBackError(`${modelName}@${body.toVersion} is the version in production`);
      if (!target) throw new NothingToRollBackError(`model ${modelName} has no earlier production version to return to`);
      await this.restoreProduction(tx, { modelId, modelName, current, target, actor: actor.name, reason: body.reason });
      return { model: modelName, stage, rolledBack: current.version, restored: target.version };
    });
  }

  /** The version production goes back to: the last one that served before `current` and was not rolled back. Call it under StagePointerService.lock. */
  async previousProduction(tx: EntityManager, modelId: string, current: StageAssignmentRow): Promise<{ versionId: string; version: string } | undefined> {
    const served = await this.stages.servedAt(tx, modelId, 'production');
    return served.find((entry) => entry.versionId !== current.versionId && entry.currentStage !== 'rolled_back');
  }

  /** `target` serves production again and `current` is rolled back, audited: in the caller's transaction, after StagePointerService.lock. */
  async restoreProduction(tx: EntityManager, restore: ProductionRestore): Promise<void> {
    await this.stages.retire(tx, restore.modelId, restore.current, 'rolled_back', restore.actor, restore.reason);
    await this.stages.move(tx, {
      modelId: restore.modelId,
      versionId: restore.target.versionId,
      stage: 'production',
      trafficPercent: null,
      actor: restore.actor,
      action: 'restored',
      reason: restore.reason,
    });
    await this.audit.append(tx, {
      actor: restore.actor,
      action: 'stage.rolled_back',
      subject: `version:${restore.modelName}@${restore.current.version}`,
      payload: { stage: 'production', restored: restore.target.version, reason: restore.reason, ...(restore.evidence ? { evidence: restore.evidence } : {}) },
    });
  }
}

export interface ProductionRestore {
  modelId: string;
  modelName: string;
  current: StageAssignmentRow;
  target: { versionId: string; version: string };
  /** A token name, or `gatehouse` when an alert rule decided. */
  actor: string;
  reason: string;
  evidence?: Record<string, unknown>;
}

export interface CanaryAbort {
  modelId: string;
  modelName: string;
  canary: StageAssignmentRow;
  /** A token name, or `gatehouse` when an analysis or an alert rule decided. */
  actor: string;
  reason: string;
  /** What the decision rested on, kept in the audit event. */
  evidence?: Record<string, unknown>;
}

function servingVersion(modelName: string, { canary, production }: StagePointers, key?: string): ResolveResponse {
  if (key !== undefined && canary && servesCanary(modelName, key, canary.trafficPercent!)) {
    return { model: modelName, version: canary.version, stage: 'canary', trafficPercent: canary.trafficPercent };
  }
  if (!production) throw new NoServingVersionError(modelName);
  return { model: modelName, version: production.version, stage: 'production', trafficPercent: null };
}
