import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ServingStage } from '../catalog.types';
import type { StageEventResponse, StageHistoryResponse } from '../dto/stage.dto';
import { StageRepository, type ServingVersionRow, type StageAssignmentRow, type StageEventRow } from '../repositories/stage.repository';
import { ModelService } from './model.service';

export type StagePointers = Partial<Record<ServingStage, StageAssignmentRow>>;

const HISTORY_LIMIT = 200;

/**
 * Where each version of a model serves, as lineage, gates and the stage
 * routes read it. Moving a pointer is libs/promotion's job.
 */
@Injectable()
export class StageService {
  constructor(
    private readonly stages: StageRepository,
    private readonly models: ModelService,
  ) {}

  /** The stage pointers of a model; inside `tx`, as that transaction sees them. */
  async pointers(modelId: string, tx?: EntityManager): Promise<StagePointers> {
    return Object.fromEntries((await this.stages.assignments(modelId, tx)).map((row) => [row.stage, row]));
  }

  /** Every model's canary and production versions: what monitoring reports on. */
  serving(): Promise<ServingVersionRow[]> {
    return this.stages.serving();
  }

  /** The version at one stage of a model now: what a gate compares its candidate with. */
  async holderOf(modelName: string, stage: ServingStage): Promise<StageAssignmentRow | undefined> {
    return (await this.pointers((await this.models.require(modelName)).id))[stage];
  }

  async history(modelName: string): Promise<StageHistoryResponse> {
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
