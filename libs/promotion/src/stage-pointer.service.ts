import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ModelService, SERVING_STAGES, StageService, type ServingStage, type StageAction, type StageAssignmentRow, type StagePointers } from '@gatehouse/catalog';
import { ReadCache, TransactionRunner } from '@gatehouse/database';
import { MetricsService } from '@gatehouse/metrics';
import type { ModelStagesResponse, StageHolderResponse } from './dto/stage.dto';
import { displacedStage } from './promotion-rules';
import { StageMoved } from './stage-moved';
import { StagePointerRepository } from './stage-pointer.repository';

export interface StageMove {
  modelId: string;
  versionId: string;
  stage: ServingStage;
  trafficPercent: number | null;
  actor: string;
  action: Extract<StageAction, 'promoted' | 'restored'>;
  approvers?: string[];
  promotionId?: string | null;
  gateRunId?: string | null;
  reason?: string | null;
}

/** Resolve is on the path of every prediction: its pointers are cached this long. A move on this replica shows at once; one on another replica within this time. */
const SERVING_CACHE_MS = 1000;
const SERVING_CACHE_MODELS = 10_000;

/**
 * Moves the stage pointers. Moves run inside the caller's transaction, after
 * {@link lock}: the model's row lock serialises every move of one model
 * across replicas, and the pointers it returns are current.
 */
@Injectable()
export class StagePointerService {
  private readonly serving = new ReadCache<string, StagePointers>(SERVING_CACHE_MS, SERVING_CACHE_MODELS);

  constructor(
    private readonly pointers: StagePointerRepository,
    private readonly stages: StageService,
    private readonly models: ModelService,
    private readonly transactions: TransactionRunner,
    private readonly metrics: MetricsService,
    private readonly moved: StageMoved,
  ) {}

  async lock(tx: EntityManager, modelId: string): Promise<StagePointers> {
    await this.pointers.lockModel(tx, modelId);
    return this.stages.pointers(modelId, tx);
  }

  /**
   * Puts a version at a stage: it leaves the stage it held, and the version
   * that held the target stage is displaced ({@link displacedStage}: archived
   * from production, validated again from staging or canary), its `replaced`
   * event kept in the history. Returns that replaced version.
   */
  async move(tx: EntityManager, move: StageMove): Promise<StageAssignmentRow | undefined> {
    this.transactions.afterCommit(tx, () => this.serving.invalidate());
    const current = await this.stages.pointers(move.modelId, tx);
    const held = Object.values(current).find((row) => row.versionId === move.versionId);
    if (held) await this.pointers.unassign(tx, move.modelId, held.stage);
    const holder = current[move.stage];
    const replaced = holder && holder.versionId !== move.versionId ? holder : undefined;
    if (replaced) {
      await this.pointers.unassign(tx, move.modelId, move.stage);
      await this.pointers.setVersionStage(tx, replaced.versionId, displacedStage(move.stage));
      await this.pointers.recordEvent(tx, { ...move, versionId: replaced.versionId, action: 'replaced', approvers: [] });
      await this.moved.publish(tx, { modelId: move.modelId, versionId: replaced.versionId, stage: move.stage, action: 'replaced', trafficPercent: null, actor: move.actor });
    }
    await this.pointers.assign(tx, {
      modelId: move.modelId,
      stage: move.stage,
      versionId: move.versionId,
      trafficPercent: move.trafficPercent,
      assignedBy: move.actor,
      promotionId: move.promotionId ?? null,
    });
    await this.pointers.setVersionStage(tx, move.versionId, move.stage);
    await this.pointers.recordEvent(tx, move);
    await this.moved.publish(tx, {
      modelId: move.modelId,
      versionId: move.versionId,
      stage: move.stage,
      action: move.action,
      trafficPercent: move.trafficPercent,
      actor: move.actor,
    });
    return replaced;
  }

  /** Changes the share of request keys the canary serves; false when `versionId` is not the canary. Call it under {@link lock}. */
  async setCanaryTraffic(tx: EntityManager, modelId: string, versionId: string, trafficPercent: number): Promise<boolean> {
    this.transactions.afterCommit(tx, () => this.serving.invalidate());
    return this.pointers.setCanaryTraffic(tx, modelId, versionId, trafficPercent);
  }

  /** Takes a version out of its stage for good: a production rollback or an aborted canary. */
  async retire(tx: EntityManager, modelId: string, holder: StageAssignmentRow, action: 'rolled_back' | 'canary_aborted', actor: string, reason: string): Promise<void> {
    this.transactions.afterCommit(tx, () => this.serving.invalidate());
    this.transactions.afterCommit(tx, () => this.metrics.rolledBack(holder.stage));
    await this.pointers.unassign(tx, modelId, holder.stage);
    await this.pointers.setVersionStage(tx, holder.versionId, 'rolled_back');
    await this.pointers.recordEvent(tx, { modelId, versionId: holder.versionId, stage: holder.stage, action, actor, reason });
    await this.moved.publish(tx, { modelId, versionId: holder.versionId, stage: holder.stage, action, trafficPercent: null, actor });
  }

  /** A version's status and stage as the caller's transaction sees them. */
  versionState(tx: EntityManager, versionId: string) {
    return this.pointers.versionState(tx, versionId);
  }

  /** Each time a version started serving at `stage`, newest first. */
  servedAt(tx: EntityManager, modelId: string, stage: ServingStage) {
    return this.pointers.servedAt(tx, modelId, stage);
  }

  /** The stage pointers of a model, by name, for resolving requests: cached for SERVING_CACHE_MS. */
  servingPointers(modelName: string): Promise<StagePointers> {
    return this.serving.get(modelName, async () => this.stages.pointers(await this.models.idOf(modelName)));
  }

  /** {@link servingPointers} if they are cached, without waiting. */
  cachedServingPointers(modelName: string): StagePointers | undefined {
    return this.serving.peek(modelName)?.value;
  }

  async stagesOf(modelName: string): Promise<ModelStagesResponse> {
    const pointers = await this.stages.pointers(await this.models.idOf(modelName));
    return {
      model: modelName,
      stages: Object.fromEntries(SERVING_STAGES.map((stage) => [stage, pointers[stage] ? holderResponse(pointers[stage]) : null])) as ModelStagesResponse['stages'],
    };
  }
}

function holderResponse(row: StageAssignmentRow): StageHolderResponse {
  return {
    version: row.version,
    trafficPercent: row.trafficPercent,
    assignedBy: row.assignedBy,
    assignedAt: new Date(row.assignedAt).toISOString(),
    promotionId: row.promotionId,
  };
}
