import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { GateReport, GateStage, StagePolicy } from '@gatehouse/gate-engine';
import { GateRunEntity, type GateRunError, type GateRunProgress, type GateRunTrigger } from './gate-run.entity';

export interface NewGateRun {
  versionId: string;
  baselineVersionId: string | null;
  stage: GateStage;
  trigger: GateRunTrigger;
  requestedBy: string;
  policy: StagePolicy;
  maxAttempts: number;
}

/** gate_runs doubles as the job queue: claims, leases and retries are all single guarded UPDATEs. */
@Injectable()
export class GateRunRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, run: NewGateRun): Promise<GateRunEntity> {
    const [row] = await tx.query<{ id: string }[]>(
      `INSERT INTO gate_runs (version_id, baseline_version_id, stage, trigger, requested_by, policy, max_attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [run.versionId, run.baselineVersionId, run.stage, run.trigger, run.requestedBy, JSON.stringify(run.policy), run.maxAttempts],
    );
    return (await tx.getRepository(GateRunEntity).findOneBy({ id: row.id }))!;
  }

  find(id: string, tx: EntityManager = this.dataSource.manager): Promise<GateRunEntity | null> {
    return tx.getRepository(GateRunEntity).findOneBy({ id });
  }

  /** Newest first, keyset-paginated by seq. */
  listForVersion(versionId: string, limit: number, beforeSeq?: number): Promise<GateRunEntity[]> {
    const query = this.dataSource.getRepository(GateRunEntity).createQueryBuilder('r').where('r.version_id = :versionId', { versionId }).orderBy('r.seq', 'DESC').limit(limit);
    if (beforeSeq !== undefined) query.andWhere('r.seq < :beforeSeq', { beforeSeq });
    return query.getMany();
  }

  /**
   * Takes the oldest run that is due, or whose worker stopped renewing its
   * lease, and leases it to `owner`. SKIP LOCKED lets replicas claim side by
   * side without ever taking the same run.
   */
  async claim(owner: string, leaseSeconds: number): Promise<GateRunEntity | undefined> {
    const result = await this.dataSource.query<unknown>(
      `UPDATE gate_runs
          SET status = 'running', attempts = attempts + 1, lease_owner = $1, progress = NULL,
              lease_expires_at = now() + make_interval(secs => $2), started_at = COALESCE(started_at, now())
        WHERE id = (
          SELECT id FROM gate_runs
           WHERE (status = 'queued' AND run_after <= now()) OR (status = 'running' AND lease_expires_at < now())
           ORDER BY seq
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [owner, leaseSeconds],
    );
    const [row] = updatedRows<{ id: string }>(result);
    return row ? ((await this.find(row.id)) ?? undefined) : undefined;
  }

  /** Runs waiting for a worker: due now or backing off before a retry. */
  async countQueued(): Promise<number> {
    const [row] = await this.dataSource.query<{ queued: number }[]>(`SELECT count(*)::int AS queued FROM gate_runs WHERE status = 'queued'`);
    return row.queued;
  }

  /**
   * Serialises queueing re-scans across replicas until the transaction ends:
   * each sees the runs the one before it queued or finished.
   */
  async lockRescanQueue(tx: EntityManager): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('gatehouse.rescan-queue'))`);
  }

  /** Versions with a re-scan queued or running, and that run. */
  async openRescans(tx: EntityManager): Promise<Map<string, string>> {
    const rows: { id: string; versionId: string }[] = await tx.query(
      `SELECT id, version_id AS "versionId" FROM gate_runs WHERE trigger = 'rescan' AND status IN ('queued','running')`,
    );
    return new Map(rows.map((row) => [row.versionId, row.id]));
  }

  /** Extends the lease; false when the run is no longer this owner's (it expired and someone else took it). */
  async renewLease(id: string, owner: string, leaseSeconds: number): Promise<boolean> {
    const result = await this.dataSource.query<unknown>(
      `UPDATE gate_runs SET lease_expires_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, owner, leaseSeconds],
    );
    return affected(result) === 1;
  }

  /** Records where a run this owner still holds is; a write that lost to the run's end or to another owner changes nothing. */
  async recordProgress(id: string, owner: string, progress: GateRunProgress): Promise<void> {
    await this.dataSource.query(`UPDATE gate_runs SET progress = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'`, [id, owner, JSON.stringify(progress)]);
  }

  /** Finishes a run this owner still holds; false (and nothing written) if it lost the lease. */
  async finish(
    tx: EntityManager,
    id: string,
    owner: string,
    outcome: { status: 'passed' | 'failed' | 'error'; report: GateReport | null; error?: GateRunError },
  ): Promise<boolean> {
    const result = await tx.query<unknown>(
      `UPDATE gate_runs
          SET status = $3, report = $4, health_score = $5, last_error = COALESCE($6, last_error),
              finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, progress = NULL
        WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [
        id,
        owner,
        outcome.status,
        outcome.report ? JSON.stringify(outcome.report) : null,
        outcome.report?.healthScore ?? null,
        outcome.error ? JSON.stringify(outcome.error) : null,
      ],
    );
    return affected(result) === 1;
  }

  /** Puts a run back in the queue after an infrastructure failure, to try again no sooner than `delaySeconds`. */
  async requeue(tx: EntityManager, id: string, owner: string, delaySeconds: number, error: GateRunError): Promise<boolean> {
    const result = await tx.query<unknown>(
      `UPDATE gate_runs
          SET status = 'queued', run_after = now() + make_interval(secs => $3), last_error = $4,
              lease_owner = NULL, lease_expires_at = NULL, progress = NULL
        WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, owner, delaySeconds, JSON.stringify(error)],
    );
    return affected(result) === 1;
  }
}

// TypeORM answers a raw UPDATE on Postgres with [returned rows, affected count].
function affected(result: unknown): number {
  return (result as [unknown[], number])[1];
}

function updatedRows<T>(result: unknown): T[] {
  return (result as [T[], number])[0];
}
