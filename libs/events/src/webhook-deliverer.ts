import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { MetricsService } from '@gatehouse/metrics';
import { retryDelayMs } from './delivery-backoff';
import { OutboxRepository, type AttemptOutcome, type ClaimedDelivery } from './outbox.repository';
import { WebhookSender, type SentAttempt } from './webhook-sender';

/** How long past the request timeout a claim stays this replica's: time to record the attempt before another may take it. */
const LEASE_MARGIN_MS = 30_000;

/**
 * Claims due deliveries from webhook_deliveries and POSTs each, in every
 * replica. A claim is a lease on one attempt, longer than the request
 * timeout, so exactly one replica makes each attempt; if this process dies
 * mid-attempt the lease lapses and any replica makes it again (delivery is
 * at least once: receivers de-duplicate on the event id). An attempt that
 * fails is tried again after an exponential backoff with jitter until the
 * attempts run out; then the delivery is dead, and stays visible and
 * replayable. Every attempt is recorded on its delivery.
 */
@Injectable()
export class WebhookDeliverer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookDeliverer');
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly active = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private stopped = true;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly sender: WebhookSender,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** How long an attempt's claim lasts. */
  get leaseMs(): number {
    return this.config.webhooks.timeoutMs + LEASE_MARGIN_MS;
  }

  onApplicationBootstrap(): void {
    if (this.config.webhooks.concurrency === 0) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Attempts in flight finish and are recorded (each within the request timeout); nothing new is claimed. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.active]);
  }

  /** Looks for due deliveries now rather than at the next poll: an event was just committed or replayed. */
  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  /**
   * Makes one attempt at a delivery `delivery.leaseOwner` holds and records
   * it; its last allowed attempt (`maxAttempts`) that fails leaves it dead.
   */
  async attempt(delivery: ClaimedDelivery, maxAttempts: number): Promise<SentAttempt> {
    const sent = await this.sender.send(delivery);
    const outcome: AttemptOutcome = sent.delivered
      ? { status: 'delivered' }
      : delivery.attempt >= maxAttempts
        ? { status: 'dead' }
        : { status: 'pending', retryInMs: retryDelayMs(delivery.attempt, this.config.webhooks.retryBaseMs) };
    if (await this.outbox.recordAttempt(delivery.id, delivery.leaseOwner, sent.attempt, outcome)) {
      this.metrics.webhookDeliveryAttempted(outcome.status === 'pending' ? 'retrying' : outcome.status);
      if (outcome.status === 'dead') this.logger.warn(`webhook delivery ${delivery.id} (${delivery.event.type}) is dead after ${delivery.attempt} attempts: ${sent.attempt.error}`);
    } else {
      this.logger.warn(`webhook delivery ${delivery.id}: its attempt was not recorded, as its lease lapsed (another deliverer makes it again) or its subscription was deleted`);
    }
    return sent;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const room = this.config.webhooks.concurrency - this.active.size;
      const claimed = room > 0 ? await this.outbox.claim(this.owner, this.leaseMs, room) : [];
      for (const delivery of claimed) {
        const attempt = this.attempt(delivery, this.config.webhooks.maxAttempts)
          .then(
            () => undefined,
            (error: Error) => this.logger.warn(`webhook delivery ${delivery.id} could not be recorded: ${error.message}; its lease lapses and it is attempted again`),
          )
          .finally(() => {
            this.active.delete(attempt);
            this.wake();
          });
        this.active.add(attempt);
      }
    } catch (error) {
      this.logger.warn(`could not claim webhook deliveries: ${(error as Error).message}`);
    } finally {
      this.polling = false;
      if (!this.stopped) this.schedule(this.config.webhooks.pollMs);
    }
  }
}
