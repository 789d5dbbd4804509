import { emptyAggregate, foldObservations, mergeAggregates, type Observation, type ReferenceProfile, type TelemetryAggregate } from '@gatehouse/canary-judge';
import type { Pool, PoolClient } from 'pg';
import type { WireObservation } from './traffic';

/** The baseline's table: created `LIKE telemetry_windows INCLUDING ALL` with the same foreign key, so its writes cost what the registry's do. */
export const BASELINE_TABLE = 'telemetry_windows_baseline';

/** What the registry's telemetry service holds once it has parsed a batch: the same observations, times as Dates. */
export interface ParsedObservation extends Observation {
  time: Date;
}

export function parsed(observations: WireObservation[]): ParsedObservation[] {
  return observations.map((observation) => ({ ...observation, time: new Date(observation.time) }));
}

interface WindowDelta {
  windowStart: Date;
  observations: number;
  aggregate: TelemetryAggregate;
}

export async function createBaselineTable(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE ${BASELINE_TABLE} (LIKE telemetry_windows INCLUDING ALL)`);
  await pool.query(`ALTER TABLE ${BASELINE_TABLE} ADD FOREIGN KEY (version_id) REFERENCES model_versions (id) ON DELETE CASCADE`);
}

/**
 * The least any ingestion of a batch must do, with no HTTP, no parsing, no
 * framework: fold its observations per window with canary-judge (as
 * TelemetryService.report does) and merge the folds into their rows in one
 * transaction, with TelemetryRepository.mergeWindows' statements (insert new
 * windows; lock, merge and update existing ones in key order) against
 * BASELINE_TABLE. One version per batch, so key order is window order.
 */
export async function ingestDirectly(client: PoolClient, versionId: string, profile: ReferenceProfile, observations: ParsedObservation[], windowMs: number): Promise<void> {
  const groups = new Map<number, ParsedObservation[]>();
  for (const observation of observations) {
    const windowStart = Math.floor(observation.time.getTime() / windowMs) * windowMs;
    let group = groups.get(windowStart);
    if (!group) groups.set(windowStart, (group = []));
    group.push(observation);
  }
  const deltas: WindowDelta[] = [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([windowStart, group]) => ({ windowStart: new Date(windowStart), observations: group.length, aggregate: foldObservations(emptyAggregate(), group, profile) }));

  await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  try {
    await mergeWindows(client, versionId, deltas);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

async function mergeWindows(client: PoolClient, versionId: string, deltas: WindowDelta[]): Promise<void> {
  const versionIds = (rows: unknown[]) => rows.map(() => versionId);
  const { rows: inserted } = await client.query<{ window_start: Date }>(
    `INSERT INTO ${BASELINE_TABLE} (version_id, window_start, observations, aggregate)
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::jsonb[])
     ON CONFLICT (version_id, window_start) DO NOTHING
     RETURNING version_id, window_start`,
    [versionIds(deltas), deltas.map((delta) => delta.windowStart), deltas.map((delta) => delta.observations), deltas.map((delta) => JSON.stringify(delta.aggregate))],
  );
  const isNew = new Set(inserted.map((row) => row.window_start.getTime()));
  const existing = deltas.filter((delta) => !isNew.has(delta.windowStart.getTime()));
  if (existing.length === 0) return;

  const { rows: stored } = await client.query<{ window_start: Date; aggregate: TelemetryAggregate }>(
    `SELECT w.version_id, w.window_start, w.aggregate
       FROM ${BASELINE_TABLE} w
       JOIN unnest($1::uuid[], $2::timestamptz[]) AS k (version_id, window_start) USING (version_id, window_start)
      ORDER BY w.version_id, w.window_start
        FOR UPDATE OF w`,
    [versionIds(existing), existing.map((delta) => delta.windowStart)],
  );
  const storedByWindow = new Map(stored.map((row) => [row.window_start.getTime(), row.aggregate]));
  const merged = existing.map((delta) => {
    const current = storedByWindow.get(delta.windowStart.getTime());
    if (!current) throw new Error(`baseline window ${delta.windowStart.toISOString()} vanished while its batch held it`);
    return { ...delta, aggregate: mergeAggregates(current, delta.aggregate) };
  });
  await client.query(
    `UPDATE ${BASELINE_TABLE} AS w
        SET observations = w.observations + u.observations, aggregate = u.aggregate, updated_at = now()
       FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::jsonb[]) AS u (version_id, window_start, observations, aggregate)
      WHERE w.version_id = u.version_id AND w.window_start = u.window_start`,
    [versionIds(merged), merged.map((delta) => delta.windowStart), merged.map((delta) => delta.observations), merged.map((delta) => JSON.stringify(delta.aggregate))],
  );
}
