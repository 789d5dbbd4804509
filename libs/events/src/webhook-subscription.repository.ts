import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { WebhookSubscriptionEntity } from './webhook.entities';

export type NewSubscription = Pick<WebhookSubscriptionEntity, 'url' | 'events' | 'secret' | 'description' | 'createdBy'>;
export type SubscriptionChanges = Partial<Pick<WebhookSubscriptionEntity, 'url' | 'events' | 'secret' | 'description' | 'active'>>;

@Injectable()
export class WebhookSubscriptionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, subscription: NewSubscription): Promise<WebhookSubscriptionEntity> {
    const [row] = await tx.query<{ id: string }[]>(`INSERT INTO webhook_subscriptions (url, events, secret, description, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [
      subscription.url,
      subscription.events,
      subscription.secret,
      subscription.description,
      subscription.createdBy,
    ]);
    return (await this.find(row.id, tx))!;
  }

  /** With `tx`, locked until it ends: changes to one subscription queue here. */
  find(id: string, tx?: EntityManager): Promise<WebhookSubscriptionEntity | null> {
    const repository = (tx ?? this.dataSource.manager).getRepository(WebhookSubscriptionEntity);
    return tx ? repository.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } }) : repository.findOneBy({ id });
  }

  /** Oldest first: an admin's list, never long. */
  list(): Promise<WebhookSubscriptionEntity[]> {
    return this.dataSource.getRepository(WebhookSubscriptionEntity).find({ order: { seq: 'ASC' } });
  }

  async update(tx: EntityManager, id: string, changes: SubscriptionChanges): Promise<WebhookSubscriptionEntity> {
    await tx.getRepository(WebhookSubscriptionEntity).update({ id }, { ...changes, updatedAt: () => 'now()' });
    return (await this.find(id, tx))!;
  }

  /** Its deliveries go with it (ON DELETE CASCADE); the outbox events stay, as other subscriptions' may name them. */
  async delete(tx: EntityManager, id: string): Promise<void> {
    await tx.getRepository(WebhookSubscriptionEntity).delete({ id });
  }

  /** The subscriptions an event may go to, read in the transaction that writes the event. */
  active(tx: EntityManager): Promise<Pick<WebhookSubscriptionEntity, 'id' | 'events'>[]> {
    return tx.getRepository(WebhookSubscriptionEntity).find({ select: { id: true, events: true }, where: { active: true } });
  }
}
