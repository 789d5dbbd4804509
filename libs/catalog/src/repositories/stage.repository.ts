import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ServingStage, StageAction } from '../catalog.types';

export interface StageAssignmentRow {
  stage: ServingStage;
  versionId: string;
  version: string;
  trafficPercent: number | null;
  assignedBy: string;
  assignedAt: Date;
  promotionId: string | null;
}

export interface ServingVersionRow {
  model: string;
  stage: 'canary' | 'production';
  versionId: string;
  version: string;
}

export interface StageEventRow {
  seq: number;
  versionId: string;
  version: string;
  stage: ServingStage;
  action: StageAction;
  actor: string;
  approvers: string[];
  promotionId: string | null;
  gateRunId: string | null;
  reason: string | null;
  at: Date;
}

const EVENT_COLUMNS = `e.seq::int AS seq, e.version_id AS "versionId", v.version, e.stage, e.action, e.actor, e.approvers,
       e.promotion_id AS "promotionId", e.gate_run_id AS "gateRunId", e.reason, e.at`;

/**
 * Reads of the stage pointers and their history, which lineage and gates
 * need. The tables and every write to them belong to libs/promotion.
 */
@Injectable()
export class StageRepository {
  constructor(private readonly dataSource: DataSource) {}

  assignments(modelId: string, tx: EntityManager = this.dataSource.manager): Promise<StageAssignmentRow[]> {
    return tx.query(
      `SELECT a.stage, a.version_id AS "versionId", v.version, a.traffic_percent AS "trafficPercent",
              a.assigned_by AS "assignedBy", a.assigned_at AS "assignedAt", a.promotion_id AS "promotionId"
         FROM stage_assignments a JOIN model_versions v ON v.id = a.version_id
        WHERE a.model_id = $1`,
      [modelId],
    );
  }

  /** What serves canary and production across every model. */
  serving(): Promise<ServingVersionRow[]> {
    return this.dataSource.query(
      `SELECT m.name AS model, a.stage, a.version_id AS "versionId", v.version
         FROM stage_assignments a JOIN model_versions v ON v.id = a.version_id JOIN models m ON m.id = a.model_id
        WHERE a.stage IN ('canary', 'production') ORDER BY m.name, a.stage`,
    );
  }

  /** A model's moves, newest first. */
  modelHistory(modelId: string, limit: number): Promise<StageEventRow[]> {
    return this.dataSource.query(`SELECT ${EVENT_COLUMNS} FROM stage_events e JOIN model_versions v ON v.id = e.version_id WHERE e.model_id = $1 ORDER BY e.seq DESC LIMIT $2`, [
      modelId,
      limit,
    ]);
  }

  /** The moves of these versions, oldest first. */
  versionHistory(versionIds: string[]): Promise<StageEventRow[]> {
    if (versionIds.length === 0) return Promise.resolve([]);
    return this.dataSource.query(`SELECT ${EVENT_COLUMNS} FROM stage_events e JOIN model_versions v ON v.id = e.version_id WHERE e.version_id = ANY($1) ORDER BY e.seq`, [
      versionIds,
    ]);
  }
}
