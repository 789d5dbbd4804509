import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AlertEvaluation, AlertMetric } from '@gatehouse/canary-judge';

export interface MonitorRow {
  modelId: string;
  model: string;
  versionId: string;
  version: string;
  nextEvaluationAt: Date;
}

export interface AlertRow {
  id: string;
  seq: number;
  model: string;
  version: string;
  versionId: string;
  rule: string;
  metric: AlertMetric;
  severity: 'warning' | 'critical';
  state: 'firing' | 'resolved';
  value: number | null;
  threshold: number | null;
  samples: number;
  evaluations: number;
  raisedAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
  rollback: Record<string, unknown> | null;
}

export interface ShiftRow {
  modelId: string;
  model: string;
  fromVersionId: string;
  fromVersion: string;
  toVersionId: string;
  toVersion: string;
  alertId: string;
  startedAt: Date;
  durationSeconds: number;
}

const ALERT_COLUMNS = `a.id, a.seq::int AS seq, m.name AS model, v.version, a.version_id AS "versionId", a.rule, a.metric, a.severity, a.state,
  a.value, a.threshold, a.samples::float8 AS samples, a.evaluations, a.raised_at AS "raisedAt", a.updated_at AS "updatedAt",
  a.resolved_at AS "resolvedAt", a.rollback`;
const ALERT_FROM = 'alerts a JOIN models m ON m.id = a.model_id JOIN model_versions v ON v.id = a.version_id';

/** Production monitors, alerts, and gradual rollbacks under way. */
@Injectable()
export class AlertRepository {
  async versionRef(tx: EntityManager, versionId: string): Promise<{ model: string; version: string }> {
    const [row] = await tx.query<{ model: string; version: string }[]>(
      'SELECT m.name AS model, v.version FROM model_versions v JOIN models m ON m.id = v.model_id WHERE v.id = $1',
      [versionId],
    );
    return row;
  }

  /** Watches `versionId` from now on: the model's production changed. */
  async watch(tx: EntityManager, modelId: string, versionId: string, nextEvaluationAt: Date): Promise<void> {
    await tx.query(
      `INSERT INTO production_monitors (model_id, version_id, next_evaluation_at) VALUES ($1, $2, $3)
       ON CONFLICT (model_id) DO UPDATE SET version_id = EXCLUDED.version_id, next_evaluation_at = EXCLUDED.next_evaluation_at`,
      [modelId, versionId, nextEvaluationAt],
    );
  }

  async unwatch(tx: EntityManager, modelId: string): Promise<void> {
    await tx.query('DELETE FROM production_monitors WHERE model_id = $1', [modelId]);
  }

  /** Monitors due for evaluation: candidates, read without locks. */
  due(manager: EntityManager, before: Date, limit: number): Promise<MonitorRow[]> {
    return manager.query(
      `SELECT p.model_id AS "modelId", m.name AS model, p.version_id AS "versionId", v.version, p.next_evaluation_at AS "nextEvaluationAt"
         FROM production_monitors p JOIN models m ON m.id = p.model_id JOIN model_versions v ON v.id = p.version_id
        WHERE p.next_evaluation_at <= $1 ORDER BY p.next_evaluation_at LIMIT $2`,
      [before, limit],
    );
  }

  /** The monitor as it is, locked; call it under the model's lock. */
  async lockMonitor(tx: EntityManager, modelId: string): Promise<{ versionId: string; nextEvaluationAt: Date } | undefined> {
    const [row] = await tx.query<{ versionId: string; nextEvaluationAt: Date }[]>(
      'SELECT version_id AS "versionId", next_evaluation_at AS "nextEvaluationAt" FROM production_monitors WHERE model_id = $1 FOR UPDATE',
      [modelId],
    );
    return row;
  }

  async scheduleNext(tx: EntityManager, modelId: string, nextEvaluationAt: Date): Promise<void> {
    await tx.query('UPDATE production_monitors SET next_evaluation_at = $2 WHERE model_id = $1', [modelId, nextEvaluationAt]);
  }

  /** The version's firing alerts by rule, locked. */
  async firing(tx: EntityManager, versionId: string): Promise<Map<string, { id: string }>> {
    const rows = await tx.query<{ id: string; rule: string }[]>(`SELECT id, rule FROM alerts WHERE version_id = $1 AND state = 'firing' FOR UPDATE`, [versionId]);
    return new Map(rows.map((row) => [row.rule, { id: row.id }]));
  }

  async raise(tx: EntityManager, modelId: string, versionId: string, metric: AlertMetric, evaluation: AlertEvaluation): Promise<string> {
    const [row] = await tx.query<{ id: string }[]>(
      `INSERT INTO alerts (model_id, version_id, rule, metric, severity, state, value, threshold, samples) VALUES ($1, $2, $3, $4, $5, 'firing', $6, $7, $8) RETURNING id`,
      [modelId, versionId, evaluation.rule, metric, evaluation.severity, evaluation.value, evaluation.threshold, evaluation.samples],
    );
    return row.id;
  }

  async update(tx: EntityManager, id: string, evaluation: AlertEvaluation): Promise<void> {
    await tx.query('UPDATE alerts SET value = $2, threshold = $3, samples = $4, evaluations = evaluations + 1, updated_at = now() WHERE id = $1', [
      id,
      evaluation.value,
      evaluation.threshold,
      evaluation.samples,
    ]);
  }

  async resolve(tx: EntityManager, id: string, evaluation?: AlertEvaluation): Promise<void> {
    await tx.query(`UPDATE alerts SET state = 'resolved', resolved_at = now(), updated_at = now(), value = COALESCE($2, value), evaluations = evaluations + 1 WHERE id = $1`, [
      id,
      evaluation?.value ?? null,
    ]);
  }

  /** Resolves every alert still firing on the version: it left production. */
  async resolveAll(tx: EntityManager, versionId: string): Promise<{ id: string; rule: string }[]> {
    const [rows]: [{ id: string; rule: string }[], number] = await tx.query(
      `UPDATE alerts SET state = 'resolved', resolved_at = now(), updated_at = now() WHERE version_id = $1 AND state = 'firing' RETURNING id, rule`,
      [versionId],
    );
    return rows;
  }

  async recordRollback(tx: EntityManager, id: string, rollback: Record<string, unknown>): Promise<void> {
    await tx.query('UPDATE alerts SET rollback = $2 WHERE id = $1', [id, JSON.stringify(rollback)]);
  }

  find(manager: EntityManager, id: string): Promise<AlertRow[]> {
    return manager.query(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE a.id = $1`, [id]);
  }

  /** Alerts newest first, after the cursor's seq, optionally of one model and state. */
  list(manager: EntityManager, filter: { modelId?: string; state?: 'firing' | 'resolved'; beforeSeq?: number; limit: number }): Promise<AlertRow[]> {
    return manager.query(
      `SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM}
        WHERE ($1::uuid IS NULL OR a.model_id = $1) AND ($2::text IS NULL OR a.state = $2) AND ($3::bigint IS NULL OR a.seq < $3)
        ORDER BY a.seq DESC LIMIT $4`,
      [filter.modelId ?? null, filter.state ?? null, filter.beforeSeq ?? null, filter.limit],
    );
  }

  /** Firing alerts counted by model, version and severity. */
  firingCounts(manager: EntityManager): Promise<{ model: string; version: string; severity: string; count: number }[]> {
    return manager.query(
      `SELECT m.name AS model, v.version, a.severity, count(*)::int AS count FROM ${ALERT_FROM} WHERE a.state = 'firing' GROUP BY m.name, v.version, a.severity`,
    );
  }

  async startShift(tx: EntityManager, shift: { modelId: string; fromVersionId: string; toVersionId: string; alertId: string; durationSeconds: number }): Promise<void> {
    await tx.query(`INSERT INTO rollback_shifts (model_id, from_version_id, to_version_id, alert_id, duration_seconds) VALUES ($1, $2, $3, $4, $5)`, [
      shift.modelId,
      shift.fromVersionId,
      shift.toVersionId,
      shift.alertId,
      shift.durationSeconds,
    ]);
  }

  /** Gradual rollbacks under way: candidates, read without locks. */
  shifts(manager: EntityManager): Promise<ShiftRow[]> {
    return manager.query(
      `SELECT s.model_id AS "modelId", m.name AS model, s.from_version_id AS "fromVersionId", f.version AS "fromVersion",
              s.to_version_id AS "toVersionId", t.version AS "toVersion", s.alert_id AS "alertId", s.started_at AS "startedAt", s.duration_seconds AS "durationSeconds"
         FROM rollback_shifts s JOIN models m ON m.id = s.model_id JOIN model_versions f ON f.id = s.from_version_id JOIN model_versions t ON t.id = s.to_version_id`,
    );
  }

  async lockShift(tx: EntityManager, modelId: string): Promise<{ alertId: string } | undefined> {
    const [row] = await tx.query<{ alertId: string }[]>('SELECT alert_id AS "alertId" FROM rollback_shifts WHERE model_id = $1 FOR UPDATE', [modelId]);
    return row;
  }

  async endShift(tx: EntityManager, modelId: string): Promise<void> {
    await tx.query('DELETE FROM rollback_shifts WHERE model_id = $1', [modelId]);
  }
}
