import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SecurityVerdict, ServingStage, StageAction, VersionStage, VersionStatus } from '@gatehouse/catalog';
import type { Task } from '@gatehouse/gate-engine';

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

/** The write side of the stage pointers (this lib's migration creates their tables), and what a move reads under the model's lock. */
@Injectable()
export class StagePointerRepository {
  /** Takes the model's row lock: every stage move of one model runs behind it, across replicas. */
  async lockModel(tx: EntityManager, modelId: string): Promise<void> {
    await tx.query('SELECT id FROM models WHERE id = $1 FOR UPDATE', [modelId]);
  }

  async unassign(tx: EntityManager, modelId: string, stage: ServingStage): Promise<void> {
    await tx.query('DELETE FROM stage_assignments WHERE model_id = $1 AND stage = $2', [modelId, stage]);
  }

  async assign(
    tx: EntityManager,
    row: { modelId: string; stage: ServingStage; versionId: string; trafficPercent: number | null; assignedBy: string; promotionId: string | null },
  ): Promise<void> {
    await tx.query(`INSERT INTO stage_assignments (model_id, stage, version_id, traffic_percent, assigned_by, promotion_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      row.modelId,
      row.stage,
      row.versionId,
      row.trafficPercent,
      row.assignedBy,
      row.promotionId,
    ]);
  }

  async setCanaryTraffic(tx: EntityManager, modelId: string, versionId: string, trafficPercent: number): Promise<boolean> {
    const [, updated]: [unknown[], number] = await tx.query(`UPDATE stage_assignments SET traffic_percent = $3 WHERE model_id = $1 AND stage = 'canary' AND version_id = $2`, [
      modelId,
      versionId,
      trafficPercent,
    ]);
    return updated === 1;
  }

  async versionState(tx: EntityManager, versionId: string): Promise<{ status: VersionStatus; stage: VersionStage; task: Task; security: SecurityVerdict | null }> {
    const [row] = await tx.query<{ status: VersionStatus; stage: VersionStage; task: Task; security: SecurityVerdict | null }[]>(
      'SELECT status, stage, task, security FROM model_versions WHERE id = $1',
      [versionId],
    );
    return row;
  }

  /** A version's `stage` column mirrors the pointers; only moves write it. */
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
}
