import { Module, type OnModuleInit } from '@nestjs/common';
import { AuditAppended } from '@gatehouse/audit';
import { MetricsService } from '@gatehouse/metrics';
import { EventOutbox } from './event-outbox';
import { OutboxPruner } from './outbox-pruner';
import { OutboxRepository } from './outbox.repository';
import { WebhookDeliverer } from './webhook-deliverer';
import { WebhookSender } from './webhook-sender';
import { WebhookSubscriptionRepository } from './webhook-subscription.repository';
import { WebhookService } from './webhook.service';
import { WebhooksController } from './webhooks.controller';

@Module({
  controllers: [WebhooksController],
  providers: [WebhookSubscriptionRepository, OutboxRepository, OutboxPruner, WebhookSender, WebhookDeliverer, EventOutbox, WebhookService],
})
export class EventsModule implements OnModuleInit {
  constructor(
    private readonly appended: AuditAppended,
    private readonly outbox: EventOutbox,
    private readonly deliveries: OutboxRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** Every audited action passes through the outbox, in its own transaction; the backlog is read at each scrape. */
  onModuleInit(): void {
    this.appended.subscribe((tx, event) => this.outbox.record(tx, event));
    this.metrics.readWebhookBacklogWith(() => this.deliveries.backlog());
  }
}
