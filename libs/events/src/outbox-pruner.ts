import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { PG_FOREIGN_KEY_VIOLATION, sqlState } from '@gatehouse/database';
import { OutboxRepository } from './outbox.repository';

const DAY_MS = 86_400_000;
/** How often each replica prunes; pruning twice is harmless. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** Events deleted per statement, so one prune never holds many rows at once; it repeats until none are left. */
const PRUNE_BATCH = 1000;
/** Replays racing one batch are rare; a batch that keeps failing waits for the next run. */
const MAX_BATCH_ATTEMPTS = 3;

/**
 * Keeps the outbox from growing without end: every event is written there
 * in its action's transaction, so a registry that runs for a year holds a
 * year of them. Events whose deliveries were all made go after
 * WEBHOOK_RETENTION_DAYS, with that delivery history; an event with a
 * delivery still pending or dead stays, so a dead letter can be replayed
 * however old it is. Runs at start and every ten minutes, on every replica.
 */
@Injectable()
export class OutboxPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxPruner');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const prune = () => void this.prune().catch((error: Error) => this.logger.warn(`pruning the outbox failed: ${error.message}`));
    prune();
    this.timer = setInterval(prune, PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Returns how many events went. */
  async prune(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.config.webhooks.retentionDays * DAY_MS);
    let pruned = 0;
    for (let deleted = PRUNE_BATCH; deleted === PRUNE_BATCH; pruned += deleted) deleted = await this.pruneBatch(before);
    if (pruned > 0) this.logger.log(`pruned ${pruned} events delivered before ${before.toISOString()} from the outbox`);
    return pruned;
  }

  /** One batch; a delivery replayed while the batch ran keeps its event by failing the statement, which is run again without it. */
  private async pruneBatch(before: Date): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.outbox.prune(before, PRUNE_BATCH);
      } catch (error) {
        if (sqlState(error) !== PG_FOREIGN_KEY_VIOLATION || attempt === MAX_BATCH_ATTEMPTS) throw error;
      }
    }
  }
}
