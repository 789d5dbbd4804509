import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AnalysisState, IntervalJudgement } from '@gatehouse/canary-judge';
import type { ModelAnalysisPolicy } from '../monitoring-policy';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ACTIVE_STATUSES = ['running', 'paused'] as const;
export type AnalysisRunStatus = 'running' | 'paused' | 'passed' | 'rolled_back' | 'aborted' | 'cancelled';

export interface AnalysisRunRow {
  id: string;
  seq: number;
  modelId: string;
  model: string;
  versionId: string;
  version: string;
  baselineVersionId: string;
  baselineVersion: string;
  status: AnalysisRunStatus;
  policy: ModelAnalysisPolicy;
  state: AnalysisState;
  nextIntervalAt: Date;
  startedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: Record<string, unknown> | null;
}

export interface AnalysisIntervalRow {
  number: number;
  step: number;
  trafficPercent: number;
  windowStart: Date;
  windowEnd: Date;
  verdict: IntervalJudgement['verdict'];
  metrics: IntervalJudgement['metrics'];
  /** Why the interval could not be judged (its metric source did not answer); null when it was. */
  problem: string | null;
  action: string;
  judgedAt: Date;
}

const RUN_COLUMNS = `r.id, r.seq::int AS seq, r.model_id AS "modelId", m.name AS model, r.version_id AS "versionId", v.version,
  r.baseline_version_id AS "baselineVersionId", b.version AS "baselineVersion", r.status, r.policy, r.state,
  r.next_interval_at AS "nextIntervalAt", r.started_by AS "startedBy", r.started_at AS "startedAt", r.finished_at AS "finishedAt", r.outcome`;
const RUN_FROM = `analysis_runs r JOIN models m ON m.id = r.model_id JOIN model_versions v ON v.id = r.version_id JOIN model_versions b ON b.id = r.baseline_version_id`;

/** Analysis runs and their judged intervals. */
@Injectable()
export class AnalysisRunRepository {
  async insert(
    tx: EntityManager,
    run: { modelId: string; versionId: string; baselineVersionId: string; policy: ModelAnalysisPolicy; state: AnalysisState; nextIntervalAt: Date; startedBy: string },
  ): Promise<string> {
    const [row] = await tx.query<{ id: string }[]>(
      `INSERT INTO analysis_runs (model_id, version_id, baseline_version_id, status, policy, state, next_interval_at, started_by)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7) RETURNING id`,
      [run.modelId, run.versionId, run.baselineVersionId, JSON.stringify(run.policy), JSON.stringify(run.state), run.nextIntervalAt, run.startedBy],
    );
    return row.id;
  }

  async modelName(tx: EntityManager, modelId: string): Promise<string> {
    const [row] = await tx.query<{ name: string }[]>('SELECT name FROM models WHERE id = $1', [modelId]);
    return row.name;
  }

  async find(manager: EntityManager, id: string): Promise<AnalysisRunRow | undefined> {
    if (!UUID.test(id)) return undefined;
    const [row] = await manager.query<AnalysisRunRow[]>(`SELECT ${RUN_COLUMNS} FROM ${RUN_FROM} WHERE r.id = $1`, [id]);
    return row;
  }

  /** The model's running or paused run, locked for the caller's transaction; call it under the model's lock. */
  async lockActive(tx: EntityManager, modelId: string): Promise<AnalysisRunRow | undefined> {
    const [row] = await tx.query<AnalysisRunRow[]>(`SELECT ${RUN_COLUMNS} FROM ${RUN_FROM} WHERE r.model_id = $1 AND r.status IN ('running', 'paused') FOR UPDATE OF r`, [modelId]);
    return row;
  }

  /** Runs whose next interval ended before `judgeableBefore`, oldest first: candidates only, read without locks. */
  async due(manager: EntityManager, judgeableBefore: Date, limit: number): Promise<{ id: string; modelId: string }[]> {
    return manager.query(`SELECT id, model_id AS "modelId" FROM analysis_runs WHERE status = 'running' AND next_interval_at <= $1 ORDER BY next_interval_at LIMIT $2`, [
      judgeableBefore,
      limit,
    ]);
  }

  async update(
    tx: EntityManager,
    id: string,
    change: { status: AnalysisRunStatus; state: AnalysisState; nextIntervalAt?: Date; outcome?: Record<string, unknown> },
  ): Promise<void> {
    const finished = !(ACTIVE_STATUSES as readonly string[]).includes(change.status);
    await tx.query(
      `UPDATE analysis_runs
          SET status = $2, state = $3, next_interval_at = COALESCE($4, next_interval_at), outcome = COALESCE($5, outcome),
              finished_at = CASE WHEN $6 THEN now() ELSE NULL END
        WHERE id = $1`,
      [id, change.status, JSON.stringify(change.state), change.nextIntervalAt ?? null, change.outcome ? JSON.stringify(change.outcome) : null, finished],
    );
  }

  /** Records a judged interval; false when that interval of the run was recorded already. */
  async recordInterval(tx: EntityManager, runId: string, interval: Omit<AnalysisIntervalRow, 'judgedAt'>): Promise<boolean> {
    const inserted = await tx.query<unknown[]>(
      `INSERT INTO analysis_intervals (run_id, number, step, traffic_percent, window_start, window_end, verdict, metrics, problem, action)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id, number) DO NOTHING RETURNING number`,
      [
        runId,
        interval.number,
        interval.step,
        interval.trafficPercent,
        interval.windowStart,
        interval.windowEnd,
        interval.verdict,
        JSON.stringify(interval.metrics),
        interval.problem,
        interval.action,
      ],
    );
    return inserted.length === 1;
  }

  intervals(manager: EntityManager, runId: string): Promise<AnalysisIntervalRow[]> {
    return manager.query(
      `SELECT number, step, traffic_percent AS "trafficPercent", window_start AS "windowStart", window_end AS "windowEnd", verdict, metrics, problem, action, judged_at AS "judgedAt"
         FROM analysis_intervals WHERE run_id = $1 ORDER BY number`,
      [runId],
    );
  }

  /** A model's runs (one version's, given `version`), newest first, after the cursor's seq. */
  list(manager: EntityManager, modelId: string, limit: number, filter: { beforeSeq?: number; version?: string }): Promise<AnalysisRunRow[]> {
    return manager.query(
      `SELECT ${RUN_COLUMNS} FROM ${RUN_FROM}
        WHERE r.model_id = $1 AND ($2::bigint IS NULL OR r.seq < $2) AND ($3::text IS NULL OR v.version = $3)
        ORDER BY r.seq DESC LIMIT $4`,
      [modelId, filter.beforeSeq ?? null, filter.version ?? null, limit],
    );
  }

  /** The newest run of a version, whatever its status. */
  async latestOf(manager: EntityManager, versionId: string): Promise<AnalysisRunRow | undefined> {
    const [row] = await manager.query<AnalysisRunRow[]>(`SELECT ${RUN_COLUMNS} FROM ${RUN_FROM} WHERE r.version_id = $1 ORDER BY r.seq DESC LIMIT 1`, [versionId]);
    return row;
  }
}
