import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { TransactionRunner } from '@gatehouse/database';
import { decodeCursor, keysetPage } from '@gatehouse/openapi';
import type { CreateWebhookDto, DeliveriesQuery, UpdateWebhookDto, WebhookDeliveryList, WebhookDeliveryResponse, WebhookResponse, WebhookTestResponse } from './dto/webhook.dto';
import { UnknownWebhookEventError, WebhookDeliveryNotFoundError, WebhookDeliveryPendingError, WebhookNotFoundError } from './errors';
import { TEST_EVENT, unknownEventPatterns } from './lifecycle-events';
import { OutboxRepository, type DeliveryRecord } from './outbox.repository';
import { WebhookDeliverer } from './webhook-deliverer';
import type { WebhookSubscriptionEntity } from './webhook.entities';
import { WebhookSubscriptionRepository, type SubscriptionChanges } from './webhook-subscription.repository';

const DEFAULT_PAGE_SIZE = 20;

/** Webhook subscriptions, their delivery history, replays and test deliveries. */
@Injectable()
export class WebhookService {
  constructor(
    private readonly subscriptions: WebhookSubscriptionRepository,
    private readonly outbox: OutboxRepository,
    private readonly deliverer: WebhookDeliverer,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
  ) {}

  async create(actor: Principal, request: CreateWebhookDto): Promise<WebhookResponse> {
    checkEvents(request.events);
    const subscription = await this.transactions.run(async (tx) => {
      const created = await this.subscriptions.insert(tx, {
        url: request.url,
        events: request.events,
        secret: request.secret,
        description: request.description ?? null,
        createdBy: actor.name,
      });
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'webhook.created',
        subject: webhookSubject(created.id),
        payload: { receiver: receiverOf(created.url), events: created.events, description: created.description },
      });
      return created;
    });
    return this.map(subscription);
  }

  async list(): Promise<WebhookResponse[]> {
    return (await this.subscriptions.list()).map((subscription) => this.map(subscription));
  }

  async get(id: string): Promise<WebhookResponse> {
    return this.map(await this.existing(id));
  }

  /** Audits which fields changed, never a secret's value; a patch that changes nothing is answered as it is, unaudited. */
  async update(actor: Principal, id: string, request: UpdateWebhookDto): Promise<WebhookResponse> {
    if (request.events) checkEvents(request.events);
    const subscription = await this.transactions.run(async (tx) => {
      const current = await this.subscriptions.find(id, tx);
      if (!current) throw new WebhookNotFoundError(id);
      const changes: SubscriptionChanges = {};
      if (request.url !== undefined && request.url !== current.url) changes.url = request.url;
      if (request.events && !sameList(request.events, current.events)) changes.events = request.events;
      if (request.secret !== undefined && request.secret !== current.secret) changes.secret = request.secret;
      if (request.description !== undefined && request.description !== current.description) changes.description = request.description;
      if (request.active !== undefined && request.active !== current.active) changes.active = request.active;
      if (Object.keys(changes).length === 0) return current;
      const updated = await this.subscriptions.update(tx, id, changes);
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'webhook.updated',
        subject: webhookSubject(id),
        payload: {
          changed: Object.keys(changes),
          ...(changes.url ? { receiver: { from: receiverOf(current.url), to: receiverOf(updated.url) } } : {}),
          ...(changes.events ? { events: { from: current.events, to: updated.events } } : {}),
          ...(changes.active !== undefined ? { active: updated.active } : {}),
        },
      });
      // Re-activated: the deliveries that waited are due.
      if (changes.active) this.transactions.afterCommit(tx, () => this.deliverer.wake());
      return updated;
    });
    return this.map(subscription);
  }

  async remove(actor: Principal, id: string): Promise<WebhookResponse> {
    const removed = await this.transactions.run(async (tx) => {
      const current = await this.subscriptions.find(id, tx);
      if (!current) throw new WebhookNotFoundError(id);
      await this.subscriptions.delete(tx, id);
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'webhook.deleted',
        subject: webhookSubject(id),
        payload: { receiver: receiverOf(current.url), events: current.events },
      });
      return current;
    });
    return this.map(removed);
  }

  async deliveries(id: string, query: DeliveriesQuery): Promise<WebhookDeliveryList> {
    await this.existing(id);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.outbox.listForSubscription(id, {
      status: query.status,
      beforeSeq: query.cursor === undefined ? undefined : decodeCursor<number>(query.cursor, 'number'),
      limit: limit + 1,
    });
    return keysetPage(rows, limit, (row) => row.seq, mapDelivery);
  }

  /** Sends a dead or delivered delivery again, now, with a fresh count of attempts; the same event id, so receivers can tell. */
  async replay(actor: Principal, deliveryId: string): Promise<WebhookDeliveryResponse> {
    const delivery = await this.transactions.run(async (tx) => {
      const replayed = await this.outbox.replay(tx, deliveryId);
      if (!replayed) {
        const current = await this.outbox.find(deliveryId, tx);
        if (!current) throw new WebhookDeliveryNotFoundError(deliveryId);
        throw new WebhookDeliveryPendingError(deliveryId, current.nextAttemptAt);
      }
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'webhook.delivery_replayed',
        subject: webhookSubject(replayed.subscriptionId),
        payload: { deliveryId, eventId: replayed.event.id, type: replayed.event.type },
      });
      this.transactions.afterCommit(tx, () => this.deliverer.wake());
      return replayed;
    });
    return mapDelivery(delivery);
  }

  /**
   * Sends a webhook.test event to this subscription alone, now, and answers
   * with the attempt. The delivery is leased to this request from the start,
   * so no deliverer sends it too; it is one attempt, not retried if it fails
   * (replay sends it again), and kept in the history like any other.
   */
  async test(actor: Principal, id: string): Promise<WebhookTestResponse> {
    const owner = `test:${randomUUID()}`;
    const deliveryId = await this.transactions.run(async (tx) => {
      const subscription = await this.subscriptions.find(id, tx);
      if (!subscription) throw new WebhookNotFoundError(id);
      const eventId = await this.outbox.insertEvent(tx, {
        type: TEST_EVENT,
        auditSeq: null,
        occurredAt: new Date(),
        actor: actor.name,
        subject: webhookSubject(id),
        data: { message: 'A test delivery from Gatehouse: verify its signature and answer 2xx.' },
      });
      return this.outbox.insertLeasedDelivery(tx, eventId, id, owner, this.deliverer.leaseMs);
    });
    const [claimed] = await this.outbox.leased([deliveryId], owner);
    const { delivered, attempt } = await this.deliverer.attempt(claimed, 1);
    return { delivered, attempt, delivery: mapDelivery((await this.outbox.find(deliveryId))!) };
  }

  private async existing(id: string): Promise<WebhookSubscriptionEntity> {
    const subscription = await this.subscriptions.find(id);
    if (!subscription) throw new WebhookNotFoundError(id);
    return subscription;
  }

  private map(subscription: WebhookSubscriptionEntity): WebhookResponse {
    return {
      id: subscription.id,
      url: subscription.url,
      events: subscription.events,
      description: subscription.description,
      active: subscription.active,
      createdBy: subscription.createdBy,
      createdAt: subscription.createdAt.toISOString(),
      updatedAt: subscription.updatedAt.toISOString(),
    };
  }
}

function checkEvents(patterns: string[]): void {
  const unknown = unknownEventPatterns(patterns);
  if (unknown.length > 0) throw new UnknownWebhookEventError(unknown);
}

function webhookSubject(id: string): string {
  return `webhook:${id}`;
}

/**
 * Where a subscription posts, as the audit log (which every reader may read)
 * records it: scheme, host and port only, since receivers such as Slack's
 * carry their credential in the path.
 */
function receiverOf(url: string): string {
  return new URL(url).origin;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

function mapDelivery(delivery: DeliveryRecord): WebhookDeliveryResponse {
  return {
    id: delivery.id,
    webhookId: delivery.subscriptionId,
    status: delivery.status,
    attempts: delivery.attemptLog,
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    event: { ...delivery.event, occurredAt: delivery.event.occurredAt.toISOString() },
  };
}
