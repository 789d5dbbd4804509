import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ReadCache, TransactionRunner } from '@gatehouse/database';
import { SERVING_STAGES, type ServingStage, type StageAction } from '../catalog.types';
import type { ModelStagesResponse, StageEventResponse, StageHolderResponse } from '../dto/stage.dto';
import { StageRepository, type StageAssignmentRow, type StageEventRow } from '../repositories/stage.repository';
import { ModelService } from './model.service';

export type StagePointers = Partial<Record<ServingStage, StageAssignmentRow>>;

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

const HISTORY_LIMIT = 200;
/** Resolve is on the path of every prediction: its pointers are cached this long. A move on this replica shows at once; one on another replica within this time. */
const SERVING_CACHE_MS = 1000;
const SERVING_CACHE_MODELS = 10_000;

/**
 * Where each version of a model serves. Moves run inside the caller's
 * transaction, after {@link lock}: the model's row lock serialises every move
 * of one model across replicas, and the pointers it returns are current.
 */
@Injectable()
export class StageService {
  private readonly serving = new ReadCache<string, StagePointers>(SERVING_CACHE_MS, SERVING_CACHE_MODELS);

  constructor(
    private readonly stages: StageRepository,
    private readonly models: ModelService,
    private readonly transactions: TransactionRunner,
  ) {}

  async lock(tx: EntityManager, modelId: string): Promise<StagePointers> {
    await this.stages.lockModel(tx, modelId);
    return pointersOf(await this.stages.assignments(modelId, tx));
  }

  /**
   * Puts a version at a stage: it leaves the stage it held, and the version
   * that held the target stage is archived. Returns that replaced version.
   */
  async move(tx: EntityManager, move: StageMove): Promise<StageAssignmentRow | undefined> {
    this.transactions.afterCommit(tx, () => this.serving.invalidate());
    const rows = await this.stages.assignments(move.modelId, tx);
    const held = rows.find((row) => row.versionId === move.versionId);
    if (held) await this.stages.unassign(tx, move.modelId, held.stage);
    const replaced = rows.find((row) => row.stage === move.stage && row.versionId !== move.versionId);
    if (replaced) {
      await this.stages.unassign(tx, move.modelId, move.stage);
      await this.stages.setVersionStage(tx, replaced.versionId, 'archived');
      await this.stages.recordEvent(tx, { ...move, versionId: replaced.versionId, action: 'replaced', approvers: [] });
    }
    await this.stages.assign(tx, { modelId: move.modelId, stage: move.stage, versionId: move.versionId, trafficPercent: move.trafficPercent, assignedBy: move.actor, promotionId: move.promotionId ?? null });
    await this.stages.setVersionStage(tx, move.versionId, move.stage);
    await this.stages.recordEvent(tx, move);
    return replaced;
  }

  /** Takes a version out of its stage for good: a production rollback or an aborted canary. */
  async retire(tx: EntityManager, modelId: string, holder: StageAssignmentRow, action: 'rolled_back' | 'canary_aborted', actor: string, reason: string): Promise<void> {
    this.transactions.afterCommit(tx, () => this.serving.invalidate());
    await this.stages.unassign(tx, modelId, holder.stage);
    await this.stages.setVersionStage(tx, holder.versionId, 'rolled_back');
    await this.stages.recordEvent(tx, { modelId, versionId: holder.versionId, stage: holder.stage, action, actor, reason });
  }

  /** A version's status and stage as the caller's transaction sees them. */
  versionState(tx: EntityManager, versionId: string) {
    return this.stages.versionState(tx, versionId);
  }

  /** Each time a version started serving at `stage`, newest first. */
  servedAt(tx: EntityManager, modelId: string, stage: ServingStage) {
    return this.stages.servedAt(tx, modelId, stage);
  }

  /** The stage pointers of a model, without locking: for reads. */
  async pointers(modelId: string): Promise<StagePointers> {
    return pointersOf(await this.stages.assignments(modelId));
  }

  /** The version at one stage of a model now, read past the resolve cache: what a gate compares its candidate with. */
  async holderOf(modelName: string, stage: ServingStage): Promise<StageAssignmentRow | undefined> {
    return (await this.pointers((await this.models.require(modelName)).id))[stage];
  }

  /** The stage pointers of a model, by name, for resolving requests: cached for SERVING_CACHE_MS. */
  servingPointers(modelName: string): Promise<StagePointers> {
    return this.serving.get(modelName, async () => this.pointers((await this.models.require(modelName)).id));
  }

  /** {@link servingPointers} if they are cached, without waiting. */
  cachedServingPointers(modelName: string): StagePointers | undefined {
    return this.serving.peek(modelName)?.value;
  }

  async stagesOf(modelName: string): Promise<ModelStagesResponse> {
    const model = await this.models.require(modelName);
    const pointers = await this.pointers(model.id);
    return {
      model: modelName,
      stages: Object.fromEntries(SERVING_STAGES.map((stage) => [stage, pointers[stage] ? holderResponse(pointers[stage]) : null])) as ModelStagesResponse['stages'],
    };
  }

  async history(modelName: string): Promise<{ model: string; items: StageEventResponse[] }> {
    const model = await this.models.require(modelName);
    return { model: modelName, items: (await this.stages.modelHistory(model.id, HISTORY_LIMIT)).map(eventResponse) };
  }

  /** The moves of each version, oldest first, keyed by version id. */
  async versionHistories(versionIds: string[]): Promise<Map<string, StageEventResponse[]>> {
    const byVersion = new Map<string, StageEventResponse[]>();
    for (const row of await this.stages.versionHistory(versionIds)) {
      const list = byVersion.get(row.versionId) ?? [];
      list.push(eventResponse(row));
      byVersion.set(row.versionId, list);
    }
    return byVersion;
  }
}

function pointersOf(rows: StageAssignmentRow[]): StagePointers {
  return Object.fromEntries(rows.map((row) => [row.stage, row]));
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

function eventResponse(row: StageEventRow): StageEventResponse {
  return {
    seq: row.seq,
    version: row.version,
    stage: row.stage,
    action: row.action,
    actor: row.actor,
    approvers: row.approvers,
    promotionId: row.promotionId,
    gateRunId: row.gateRunId,
    reason: row.reason,
    at: new Date(row.at).toISOString(),
  };
}
