import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { SecurityVerdict, ServingStage, StageAction, Task, VersionStage, VersionStatus } from '../catalog.types';

export interface StageAssignmentRow {
  stage: ServingStage;
  versionId: string;
  version: string;
  trafficPercent: number | null;
  assignedBy: string;
  assignedAt: Date;
  promotionId: string | null;
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

export interface NewStageEvent {
  modelId: string;
  versionId: string;
  stage: ServingStage;
  action: StageAction;
  actor: string;
  approvers?: string[];
  promotionId?: string | null;
  gateRunId?: string | null;
  reason?: string | null;
}

const EVENT_COLUMNS = `e.seq::int AS seq, e.version_id AS "versionId", v.version, e.stage, e.action, e.actor, e.approvers,
       e.promotion_id AS "promotionId", e.gate_run_id AS "gateRunId", e.reason, e.at`;

/** Stage pointers (one version per model and stage) and the history of every move. */
@Injectable()
export class StageRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Takes the model's row lock: every stage move of one model runs behind it, across replicas. */
  async lockModel(tx: EntityManager, modelId: string): Promise<void> {
    await tx.query('SELECT id FROM models WHERE id = $1 FOR UPDATE', [modelId]);
  }

  assignments(modelId: string, tx: EntityManager = this.dataSource.manager): Promise<StageAssignmentRow[]> {
    return tx.query(
      `SELECT a.stage, a.version_id AS "versionId", v.version, a.traffic_percent AS "trafficPercent",
              a.assigned_by AS "assignedBy", a.assigned_at AS "assignedAt", a.promotion_id AS "promotionId"
         FROM stage_assignments a JOIN model_versions v ON v.id = a.version_id
        WHERE a.model_id = $1`,
      [modelId],
    );
  }

  async unassign(tx: EntityManager, modelId: string, stage: ServingStage): Promise<void> {
    await tx.query('DELETE FROM stage_assignments WHERE model_id = $1 AND stage = $2', [modelId, stage]);
  }

  async assign(tx: EntityManager, row: { modelId: string; stage: ServingStage; versionId: string; trafficPercent: number | null; assignedBy: string; promotionId: string | null }): Promise<void> {
    await tx.query(
      `INSERT INTO stage_assignments (model_id, stage, version_id, traffic_percent, assigned_by, promotion_id) VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.modelId, row.stage, row.versionId, row.trafficPercent, row.assignedBy, row.promotionId],
    );
  }

  async versionState(tx: EntityManager, versionId: string): Promise<{ status: VersionStatus; stage: VersionStage; task: Task; security: SecurityVerdict | null }> {
    const [row] = await tx.query('SELECT status, stage, task, security FROM model_versions WHERE id = $1', [versionId]);
    return row;
  }

  async setVersionStage(tx: EntityManager, versionId: string, stage: VersionStage): Promise<void> {
    await tx.query('UPDATE model_versions SET stage = $2 WHERE id = $1', [versionId, stage]);
  }

  async recordEvent(tx: EntityManager, event: NewStageEvent): Promise<void> {
    await tx.query(
      `INSERT INTO stage_events (model_id, version_id, stage, action, actor, approvers, promotion_id, gate_run_id, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [event.modelId, event.versionId, event.stage, event.action, event.actor, event.approvers ?? [], event.promotionId ?? null, event.gateRunId ?? null, event.reason ?? null],
    );
  }

  /** A model's moves, newest first. */
  modelHistory(modelId: string, limit: number, tx: EntityManager = this.dataSource.manager): Promise<StageEventRow[]> {
    return tx.query(`SELECT ${EVENT_COLUMNS} FROM stage_events e JOIN model_versions v ON v.id = e.version_id WHERE e.model_id = $1 ORDER BY e.seq DESC LIMIT $2`, [modelId, limit]);
  }

  /** Each time a version started serving at `stage` (promoted or restored), newest first, with where it is now. */
  servedAt(tx: EntityManager, modelId: string, stage: ServingStage): Promise<{ versionId: string; version: string; currentStage: VersionStage; seq: number }[]> {
    return tx.query(
      `SELECT e.version_id AS "versionId", v.version, v.stage AS "currentStage", e.seq::int AS seq
         FROM stage_events e JOIN model_versions v ON v.id = e.version_id
        WHERE e.model_id = $1 AND e.stage = $2 AND e.action IN ('promoted','restored')
        ORDER BY e.seq DESC`,
      [modelId, stage],
    );
  }

  /** The moves of these versions, oldest first. */
  versionHistory(versionIds: string[], tx: EntityManager = this.dataSource.manager): Promise<StageEventRow[]> {
    if (versionIds.length === 0) return Promise.resolve([]);
    return tx.query(`SELECT ${EVENT_COLUMNS} FROM stage_events e JOIN model_versions v ON v.id = e.version_id WHERE e.version_id = ANY($1) ORDER BY e.seq`, [versionIds]);
  }
}
