import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox and its webhook deliveries. An outbox event is
 * written in the transaction of the action it reports (its audit event's),
 * with one delivery per subscription whose filter matched then; deliveries
 * double as the delivery queue, claimed with SKIP LOCKED under a lease as
 * gate_runs are. Each attempt is kept on its delivery, in order.
 */
export class CreateEvents1764000002000 implements MigrationInterface {
  name = 'CreateEvents1764000002000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE webhook_subscriptions (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq         bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT webhook_subscriptions_seq_key UNIQUE,
        url         text NOT NULL CHECK (url ~ '^https?://'),
        events      text[] NOT NULL CHECK (cardinality(events) > 0),
        secret      text NOT NULL CHECK (length(secret) >= 16),
        description text,
        active      boolean NOT NULL DEFAULT true,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE outbox_events (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq         bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT outbox_events_seq_key UNIQUE,
        type        text NOT NULL,
        -- The audit event it reports; null only for test deliveries, which report nothing that happened.
        audit_seq   bigint CONSTRAINT outbox_events_audit_seq_key UNIQUE REFERENCES audit_events (seq),
        occurred_at timestamptz NOT NULL,
        actor       text NOT NULL,
        subject     text NOT NULL,
        data        jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT outbox_events_audited CHECK ((audit_seq IS NULL) = (type = 'webhook.test'))
      )`);
    await db.query(`
      CREATE TABLE webhook_deliveries (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq              bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT webhook_deliveries_seq_key UNIQUE,
        event_id         uuid NOT NULL REFERENCES outbox_events (id),
        subscription_id  uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','dead')),
        -- Attempts since it was queued or last replayed, counted against the maximum.
        attempts         integer NOT NULL DEFAULT 0,
        -- Every attempt ever made, oldest first: {attemptedAt, durationMs, statusCode, error}.
        attempt_log      jsonb NOT NULL DEFAULT '[]',
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        lease_owner      text,
        lease_expires_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        delivered_at     timestamptz,
        -- Its index, led by event_id, also serves the foreign key.
        CONSTRAINT webhook_deliveries_once_per_subscription UNIQUE (event_id, subscription_id),
        CONSTRAINT webhook_deliveries_lease CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
        CONSTRAINT webhook_deliveries_delivered_when_done CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
      )`);
    // Deliverers poll for what is due; keep that scan to the pending rows.
    await db.query(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`);
    await db.query('CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, seq DESC)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE webhook_deliveries');
    await db.query('DROP TABLE outbox_events');
    await db.query('DROP TABLE webhook_subscriptions');
  }
}
