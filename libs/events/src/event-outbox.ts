import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppendedAuditEvent } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { isLifecycleEvent, matchesEventFilter } from './lifecycle-events';
import { OutboxRepository } from './outbox.repository';
import { WebhookDeliverer } from './webhook-deliverer';
import { WebhookSubscriptionRepository } from './webhook-subscription.repository';

/**
 * Turns audited lifecycle actions into outbox events, in the transaction
 * that audits them: the event, and its deliveries to the subscriptions
 * whose filters match at that moment, commit with the action or not at all.
 */
@Injectable()
export class EventOutbox {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly subscriptions: WebhookSubscriptionRepository,
    private readonly deliverer: WebhookDeliverer,
    private readonly transactions: TransactionRunner,
  ) {}

  async record(tx: EntityManager, audited: AppendedAuditEvent): Promise<void> {
    if (!isLifecycleEvent(audited.action)) return;
    const eventId = await this.outbox.insertEvent(tx, {
      type: audited.action,
      auditSeq: audited.seq,
      occurredAt: audited.occurredAt,
      actor: audited.actor,
      subject: audited.subject,
      data: audited.payload,
    });
    const recipients = (await this.subscriptions.active(tx)).filter((subscription) => matchesEventFilter(subscription.events, audited.action));
    if (recipients.length === 0) return;
    await this.outbox.insertDeliveries(
      tx,
      eventId,
      recipients.map((subscription) => subscription.id),
    );
    this.transactions.afterCommit(tx, () => this.deliverer.wake());
  }
}
