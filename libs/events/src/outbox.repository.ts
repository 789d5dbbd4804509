import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { DeliveryAttempt, DeliveryStatus, OutboxEventEntity } from './webhook.entities';

export type NewOutboxEvent = Omit<OutboxEventEntity, 'id' | 'seq'>;

/** A delivery with the event it carries: what the API shows. */
export interface DeliveryRecord {
  id: string;
  seq: number;
  subscriptionId: string;
  status: DeliveryStatus;
  attempts: number;
  attemptLog: DeliveryAttempt[];
  nextAttemptAt: Date;
  createdAt: Date;
  deliveredAt: Date | null;
  event: Omit<OutboxEventEntity, 'seq'>;
}

/** A delivery leased to `leaseOwner` for one attempt, with where it goes and the key it is signed with. */
export interface ClaimedDelivery {
  id: string;
  leaseOwner: string;
  /** This attempt's number since it was queued or replayed (1 for the first). */
  attempt: number;
  url: string;
  secret: string;
  event: Omit<OutboxEventEntity, 'seq'>;
}

/** What an attempt leaves: delivered, dead, or tried again after `retryInMs`. */
export type AttemptOutcome = { status: 'delivered' } | { status: 'dead' } | { status: 'pending'; retryInMs: number };

const DELIVERY_COLUMNS = `
  d.id, d.seq, d.subscription_id AS "subscriptionId", d.status, d.attempts, d.attempt_log AS "attemptLog",
  d.next_attempt_at AS "nextAttemptAt", d.created_at AS "createdAt", d.delivered_at AS "deliveredAt",
  e.id AS "eventId", e.type, e.audit_seq AS "auditSeq", e.occurred_at AS "occurredAt", e.actor, e.subject, e.data`;

type DeliveryRow = Omit<DeliveryRecord, 'event' | 'seq' | 'nextAttemptAt' | 'createdAt' | 'deliveredAt'> & {
  seq: string | number;
  nextAttemptAt: Date | string;
  createdAt: Date | string;
  deliveredAt: Date | string | null;
} & EventColumns;

type EventColumns = { eventId: string; type: string; auditSeq: string | number | null; occurredAt: Date | string; actor: string; subject: string; data: Record<string, unknown> };

/**
 * outbox_events and webhook_deliveries. Deliveries double as the queue:
 * claims, leases and outcomes are single guarded UPDATEs, as gate_runs' are.
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insertEvent(tx: EntityManager, event: NewOutboxEvent): Promise<string> {
    const [row] = await tx.query<{ id: string }[]>(`INSERT INTO outbox_events (type, audit_seq, occurred_at, actor, subject, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, [
      event.type,
      event.auditSeq,
      event.occurredAt,
      event.actor,
      event.subject,
      JSON.stringify(event.data),
    ]);
    return row.id;
  }

  /** One pending delivery of the event per subscription, due now. */
  async insertDeliveries(tx: EntityManager, eventId: string, subscriptionIds: string[]): Promise<void> {
    await tx.query(`INSERT INTO webhook_deliveries (event_id, subscription_id) SELECT $1, unnest($2::uuid[])`, [eventId, subscriptionIds]);
  }

  /** A delivery already leased to `owner` for its first attempt, which no deliverer can claim meanwhile. */
  async insertLeasedDelivery(tx: EntityManager, eventId: string, subscriptionId: string, owner: string, leaseMs: number): Promise<string> {
    const [row] = await tx.query<{ id: string }[]>(
      `INSERT INTO webhook_deliveries (event_id, subscription_id, attempts, lease_owner, lease_expires_at)
       VALUES ($1, $2, 1, $3, now() + make_interval(secs => $4::double precision)) RETURNING id`,
      [eventId, subscriptionId, owner, leaseMs / 1000],
    );
    return row.id;
  }

  /**
   * Leases up to `limit` due deliveries of active subscriptions to `owner`,
   * one attempt each: pending ones whose time has come, and ones whose last
   * owner let its lease lapse (it died mid-attempt). SKIP LOCKED lets
   * replicas claim side by side without ever taking the same delivery.
   */
  async claim(owner: string, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const result = await this.dataSource.query<unknown>(
      `UPDATE webhook_deliveries
          SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2::double precision), attempts = attempts + 1
        WHERE id IN (
          SELECT q.id FROM webhook_deliveries q JOIN webhook_subscriptions s ON s.id = q.subscription_id
           WHERE q.status = 'pending' AND q.next_attempt_at <= now() AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now()) AND s.active
           ORDER BY q.next_attempt_at, q.seq
           LIMIT $3
           FOR UPDATE OF q SKIP LOCKED)
       RETURNING id`,
      [owner, leaseMs / 1000, limit],
    );
    const ids = updatedRows<{ id: string }>(result).map((row) => row.id);
    return ids.length === 0 ? [] : this.leased(ids, owner);
  }

  /** Deliveries `owner` holds, ready to send. */
  async leased(ids: string[], owner: string): Promise<ClaimedDelivery[]> {
    const rows = await this.dataSource.query<(EventColumns & { id: string; leaseOwner: string; attempt: number; url: string; secret: string })[]>(
      `SELECT d.id, d.lease_owner AS "leaseOwner", d.attempts AS attempt, s.url, s.secret,
              e.id AS "eventId", e.type, e.audit_seq AS "auditSeq", e.occurred_at AS "occurredAt", e.actor, e.subject, e.data
         FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = ANY($1::uuid[]) AND d.lease_owner = $2`,
      [ids, owner],
    );
    return rows.map((row) => ({ id: row.id, leaseOwner: row.leaseOwner, attempt: row.attempt, url: row.url, secret: row.secret, event: eventOf(row) }));
  }

  /**
   * Appends the attempt to the delivery's log and moves it on, releasing
   * the lease, if `owner` still holds it; false (and nothing written) if it
   * lapsed and another deliverer took the delivery.
   */
  async recordAttempt(id: string, owner: string, attempt: DeliveryAttempt, outcome: AttemptOutcome): Promise<boolean> {
    const result = await this.dataSource.query<unknown>(
      `UPDATE webhook_deliveries
          SET status = $3, attempt_log = attempt_log || $4::jsonb,
              next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $5::double precision) ELSE next_attempt_at END,
              delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
              lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND lease_owner = $2
       RETURNING id`,
      [id, owner, outcome.status, JSON.stringify([attempt]), outcome.status === 'pending' ? outcome.retryInMs / 1000 : 0],
    );
    return updatedRows(result).length === 1;
  }

  async find(id: string, tx: EntityManager = this.dataSource.manager): Promise<DeliveryRecord | undefined> {
    const [row] = await tx.query<DeliveryRow[]>(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id WHERE d.id = $1`, [id]);
    return row && deliveryOf(row);
  }

  /** A subscription's deliveries, newest first, keyset-paginated by seq. */
  async listForSubscription(subscriptionId: string, filter: { status?: DeliveryStatus; beforeSeq?: number; limit: number }): Promise<DeliveryRecord[]> {
    const rows = await this.dataSource.query<DeliveryRow[]>(
      `SELECT ${DELIVERY_COLUMNS}
         FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id
        WHERE d.subscription_id = $1 AND ($2::text IS NULL OR d.status = $2) AND ($3::bigint IS NULL OR d.seq < $3)
        ORDER BY d.seq DESC
        LIMIT $4`,
      [subscriptionId, filter.status ?? null, filter.beforeSeq ?? null, filter.limit],
    );
    return rows.map(deliveryOf);
  }

  /** Queues a dead or delivered delivery for an attempt now, its attempts counted afresh; undefined if it is pending (or gone). */
  async replay(tx: EntityManager, id: string): Promise<DeliveryRecord | undefined> {
    const result = await tx.query<unknown>(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), delivered_at = NULL
        WHERE id = $1 AND status IN ('dead', 'delivered')
       RETURNING id`,
      [id],
    );
    return updatedRows(result).length === 1 ? this.find(id, tx) : undefined;
  }

  /**
   * Deletes up to `limit` events that occurred before `before` and have no
   * delivery still to make, dead (a dead letter stays replayable) or made
   * since (a replayed old event keeps its history as long as a new one
   * would), with their delivered deliveries; returns how many events went. A delivery
   * replayed meanwhile is not deleted (its status is checked again once its
   * row is free), and its event then still has it, so the statement fails on
   * the foreign key and the next run leaves that event alone.
   */
  async prune(before: Date, limit: number): Promise<number> {
    const [, deleted]: [unknown[], number] = await this.dataSource.query(
      `WITH done AS (
         SELECT e.id FROM outbox_events e
          WHERE e.occurred_at < $1
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND (d.status <> 'delivered' OR d.delivered_at >= $1))
          ORDER BY e.seq
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), history AS (
         DELETE FROM webhook_deliveries d USING done WHERE d.event_id = done.id AND d.status = 'delivered'
       )
       DELETE FROM outbox_events e USING done WHERE e.id = done.id`,
      [before, limit],
    );
    return deleted;
  }

  /** Deliveries waiting for an attempt and dead ones, across replicas. */
  async backlog(): Promise<{ pending: number; dead: number }> {
    const [row] = await this.dataSource.query<{ pending: number; dead: number }[]>(
      `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'dead')::int AS dead FROM webhook_deliveries`,
    );
    return row;
  }
}

// TypeORM answers a raw UPDATE … RETURNING on Postgres with [returned rows, affected count].
function updatedRows<T>(result: unknown): T[] {
  return (result as [T[], number])[0];
}

// Raw queries answer bigint as text, and PGlite timestamps as text too.
function eventOf(row: EventColumns): Omit<OutboxEventEntity, 'seq'> {
  return {
    id: row.eventId,
    type: row.type,
    auditSeq: row.auditSeq === null ? null : Number(row.auditSeq),
    occurredAt: new Date(row.occurredAt),
    actor: row.actor,
    subject: row.subject,
    data: row.data,
  };
}

function deliveryOf(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    subscriptionId: row.subscriptionId,
    status: row.status,
    attempts: row.attempts,
    attemptLog: row.attemptLog,
    nextAttemptAt: new Date(row.nextAttemptAt),
    createdAt: new Date(row.createdAt),
    deliveredAt: row.deliveredAt === null ? null : new Date(row.deliveredAt),
    event: eventOf(row),
  };
}
