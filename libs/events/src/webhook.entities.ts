import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintAsNumber, type EntityList } from '@gatehouse/database';

@Entity('webhook_subscriptions')
export class WebhookSubscriptionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', transformer: bigintAsNumber })
  seq: number;

  @Column('text')
  url: string;

  /** Event names, family prefixes (`gate.*`) or `*`. */
  @Column('text', { array: true })
  events: string[];

  /** The HMAC key deliveries are signed with; never answered. */
  @Column('text')
  secret: string;

  @Column('text', { nullable: true })
  description: string | null;

  /** An inactive subscription gets no new deliveries, and its pending ones wait. */
  @Column('boolean')
  active: boolean;

  @Column('text', { name: 'created_by' })
  createdBy: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}

@Entity('outbox_events')
export class OutboxEventEntity {
  /** The event's id, sent to receivers for de-duplication: the same on every delivery and retry. */
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', transformer: bigintAsNumber })
  seq: number;

  @Column('text')
  type: string;

  @Column({ type: 'bigint', name: 'audit_seq', nullable: true, transformer: bigintAsNumber })
  auditSeq: number | null;

  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt: Date;

  @Column('text')
  actor: string;

  @Column('text')
  subject: string;

  @Column('jsonb')
  data: Record<string, unknown>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'dead'];

/** One POST to a receiver: its HTTP status, or why there was none. */
export interface DeliveryAttempt {
  attemptedAt: string;
  durationMs: number;
  /** The receiver's status code; null when it never answered. */
  statusCode: number | null;
  /** Why the attempt failed (a non-2xx status, a timeout, a refused connection); null when delivered. */
  error: string | null;
}

@Entity('webhook_deliveries')
export class WebhookDeliveryEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', transformer: bigintAsNumber })
  seq: number;

  @Column('uuid', { name: 'event_id' })
  eventId: string;

  @Column('uuid', { name: 'subscription_id' })
  subscriptionId: string;

  @Column('text')
  status: DeliveryStatus;

  /** Attempts since it was queued or last replayed. */
  @Column('integer')
  attempts: number;

  @Column('jsonb', { name: 'attempt_log' })
  attemptLog: DeliveryAttempt[];

  @Column('timestamptz', { name: 'next_attempt_at' })
  nextAttemptAt: Date;

  @Column('text', { name: 'lease_owner', nullable: true })
  leaseOwner: string | null;

  @Column('timestamptz', { name: 'lease_expires_at', nullable: true })
  leaseExpiresAt: Date | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'delivered_at', nullable: true })
  deliveredAt: Date | null;
}

export const eventEntities: EntityList = [WebhookSubscriptionEntity, OutboxEventEntity, WebhookDeliveryEntity];
