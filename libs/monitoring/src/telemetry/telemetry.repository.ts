import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ReferenceProfile, TelemetryAggregate } from '@gatehouse/canary-judge';

/** One version's observations of one window, folded. */
export interface WindowDelta {
  versionId: string;
  windowStart: Date;
  observations: number;
  aggregate: TelemetryAggregate;
}

export interface PendingLabel {
  requestId: string;
  versionId: string;
  windowStart: Date;
  prediction: unknown;
}

export interface StoredProfile {
  /** `name@version` of the dataset it was computed from; null when the version has none to profile. */
  dataset: string | null;
  profile: ReferenceProfile | null;
}

/** Telemetry windows, predictions waiting for labels, and reference profiles. */
@Injectable()
export class TelemetryRepository {
  /**
   * Adds each delta to its window: a window no one has written yet is
   * inserted as it is; one that exists is locked and merged with `merge`.
   * Deltas are taken in key order, so that two batches touching the same
   * windows lock them in the same order and never deadlock.
   */
  async mergeWindows(tx: EntityManager, deltas: WindowDelta[], merge: (stored: TelemetryAggregate, delta: TelemetryAggregate) => TelemetryAggregate): Promise<void> {
    const sorted = [...deltas].sort((a, b) => (a.versionId === b.versionId ? a.windowStart.getTime() - b.windowStart.getTime() : a.versionId < b.versionId ? -1 : 1));
    const inserted: { version_id: string; window_start: Date }[] = await tx.query(
      `INSERT INTO telemetry_windows (version_id, window_start, observations, aggregate)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::jsonb[])
       ON CONFLICT (version_id, window_start) DO NOTHING
       RETURNING version_id, window_start`,
      [
        sorted.map((delta) => delta.versionId),
        sorted.map((delta) => delta.windowStart),
        sorted.map((delta) => delta.observations),
        sorted.map((delta) => JSON.stringify(delta.aggregate)),
      ],
    );
    const isNew = new Set(inserted.map((row) => windowKey(row.version_id, new Date(row.window_start))));
    const existing = sorted.filter((delta) => !isNew.has(windowKey(delta.versionId, delta.windowStart)));
    if (existing.length === 0) return;

    const stored: { version_id: string; window_start: Date; aggregate: TelemetryAggregate }[] = await tx.query(
      `SELECT w.version_id, w.window_start, w.aggregate
         FROM telemetry_windows w
         JOIN unnest($1::uuid[], $2::timestamptz[]) AS k (version_id, window_start) USING (version_id, window_start)
        ORDER BY w.version_id, w.window_start
          FOR UPDATE OF w`,
      [existing.map((delta) => delta.versionId), existing.map((delta) => delta.windowStart)],
    );
    const storedByKey = new Map(stored.map((row) => [windowKey(row.version_id, new Date(row.window_start)), row.aggregate]));
    const merged = existing.map((delta) => {
      const current = storedByKey.get(windowKey(delta.versionId, delta.windowStart));
      if (!current) throw new Error(`telemetry window ${delta.versionId} ${delta.windowStart.toISOString()} vanished while its batch held it`);
      return { ...delta, aggregate: merge(current, delta.aggregate) };
    });
    await tx.query(
      `UPDATE telemetry_windows AS w
          SET observations = w.observations + u.observations, aggregate = u.aggregate, updated_at = now()
         FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::jsonb[]) AS u (version_id, window_start, observations, aggregate)
        WHERE w.version_id = u.version_id AND w.window_start = u.window_start`,
      [
        merged.map((delta) => delta.versionId),
        merged.map((delta) => delta.windowStart),
        merged.map((delta) => delta.observations),
        merged.map((delta) => JSON.stringify(delta.aggregate)),
      ],
    );
  }

  /** The windows of one version starting in [from, to), oldest first. */
  windows(manager: EntityManager, versionId: string, from: Date, to: Date): Promise<{ windowStart: Date; observations: number; aggregate: TelemetryAggregate }[]> {
    return manager.query(
      `SELECT window_start AS "windowStart", observations::float8 AS observations, aggregate
         FROM telemetry_windows
        WHERE version_id = $1 AND window_start >= $2 AND window_start < $3
        ORDER BY window_start`,
      [versionId, from, to],
    );
  }

  /** Predictions kept until their label arrives; a request id reported again keeps its latest prediction. */
  async awaitLabels(tx: EntityManager, modelId: string, pending: PendingLabel[], expiresAt: Date): Promise<void> {
    const latest = [...new Map(pending.map((row) => [row.requestId, row])).values()].sort((a, b) => (a.requestId < b.requestId ? -1 : 1));
    await tx.query(
      `INSERT INTO telemetry_pending_labels (model_id, request_id, version_id, window_start, prediction, expires_at)
       SELECT $1, * , $6 FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::jsonb[])
       ON CONFLICT (model_id, request_id) DO UPDATE
          SET version_id = EXCLUDED.version_id, window_start = EXCLUDED.window_start, prediction = EXCLUDED.prediction, expires_at = EXCLUDED.expires_at`,
      [
        modelId,
        latest.map((row) => row.requestId),
        latest.map((row) => row.versionId),
        latest.map((row) => row.windowStart),
        latest.map((row) => JSON.stringify(row.prediction)),
        expiresAt,
      ],
    );
  }

  /** Removes and returns the predictions these request ids are waiting for; ids with none are left out. */
  async takePendingLabels(tx: EntityManager, modelId: string, requestIds: string[]): Promise<PendingLabel[]> {
    // A DELETE answers [rows, count], RETURNING or not.
    const [rows]: [PendingLabel[], number] = await tx.query(
      `DELETE FROM telemetry_pending_labels
        WHERE model_id = $1 AND request_id = ANY ($2::text[]) AND expires_at > now()
        RETURNING request_id AS "requestId", version_id AS "versionId", window_start AS "windowStart", prediction`,
      [modelId, requestIds],
    );
    return rows;
  }

  async profile(manager: EntityManager, versionId: string): Promise<StoredProfile | undefined> {
    const [row] = await manager.query<StoredProfile[]>('SELECT dataset, profile FROM telemetry_profiles WHERE version_id = $1', [versionId]);
    return row;
  }

  /** Keeps the first profile stored: two replicas computing one from the same dataset agree, and the loser reads the winner's. */
  async storeProfile(manager: EntityManager, versionId: string, stored: StoredProfile): Promise<void> {
    await manager.query('INSERT INTO telemetry_profiles (version_id, dataset, profile) VALUES ($1, $2, $3) ON CONFLICT (version_id) DO NOTHING', [
      versionId,
      stored.dataset,
      stored.profile === null ? null : JSON.stringify(stored.profile),
    ]);
  }

  /** Drops windows that started before `before` and predictions whose labels never came. */
  async prune(manager: EntityManager, before: Date): Promise<{ windows: number; pendingLabels: number }> {
    const windows: [unknown[], number] = await manager.query('DELETE FROM telemetry_windows WHERE window_start < $1', [before]);
    const pendingLabels: [unknown[], number] = await manager.query('DELETE FROM telemetry_pending_labels WHERE expires_at <= now()');
    return { windows: windows[1], pendingLabels: pendingLabels[1] };
  }
}

function windowKey(versionId: string, windowStart: Date): string {
  return `${versionId}/${windowStart.getTime()}`;
}
