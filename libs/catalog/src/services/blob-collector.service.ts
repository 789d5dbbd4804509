import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { ContentAddressedStore } from '@gatehouse/storage';
import { BlobReferenceRepository } from '../repositories/blob-reference.repository';

export interface ByteCount {
  count: number;
  bytes: number;
}

/** What one collection found and did. */
export interface CollectionReport {
  dryRun: boolean;
  graceSeconds: number;
  /** Every stored blob looked at. */
  scanned: ByteCount;
  /** Unreferenced and older than the grace: deleted, or in a dry run what would be. */
  collected: ByteCount;
  /** Referenced by a version's file or a dataset, or leased by an upload. */
  kept: ByteCount;
  /** Younger than the grace, left whatever references them. */
  young: ByteCount;
  /** Stale temporary uploads removed; null in a dry run, which leaves them. */
  temporaries: { removed: number; abortedUploads: number | null } | null;
  expiredLeases: number;
  startedAt: string;
  finishedAt: string;
}

/**
 * Deletes blobs that no version (pending or committed), no dataset and no
 * upload in flight references, once they are older than the grace period,
 * and removes stale temporary uploads. Each deletion happens under the
 * blob's lock after the check, so an upload that leases the same bytes
 * meanwhile either waits for the deletion and stores them again, or keeps
 * them. Runs on a schedule in every replica (GC_INTERVAL_MINUTES) and on
 * demand; concurrent collections are safe, each deletion being checked alone.
 */
@Injectable()
export class BlobCollector implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BlobCollector');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CollectionReport> | undefined;

  constructor(
    private readonly content: ContentAddressedStore,
    private readonly references: BlobReferenceRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const intervalMs = this.config.collector.intervalMinutes * 60_000;
    if (intervalMs === 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.collect({ dryRun: false }).then(
        (report) => this.logger.log(`collected ${report.collected.count} unreferenced blobs (${report.collected.bytes} bytes); kept ${report.kept.count}`),
        (error: unknown) => this.logger.warn(`blob collection failed, to be tried again in ${this.config.collector.intervalMinutes} min: ${(error as Error).message}`),
      );
    }, intervalMs).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One collection; a second call while one runs in this process joins it. */
  collect(options: { dryRun: boolean }): Promise<CollectionReport> {
    if (this.running && !options.dryRun) return this.running;
    const run = this.run(options.dryRun).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    if (!options.dryRun) this.running = run;
    return run;
  }

  private async run(dryRun: boolean): Promise<CollectionReport> {
    const startedAt = new Date();
    const graceMs = this.config.collector.graceMinutes * 60_000;
    const report = { scanned: zero(), collected: zero(), kept: zero(), young: zero() };
    for await (const blob of this.content.listStored()) {
      add(report.scanned, blob.size);
      if (startedAt.getTime() - blob.lastModified.getTime() < graceMs) {
        add(report.young, blob.size);
        continue;
      }
      await this.references.whileLocked(blob.sha256, async (kept) => {
        if (kept) return add(report.kept, blob.size);
        if (!dryRun) await this.content.deleteStored(blob.sha256);
        add(report.collected, blob.size);
      });
    }
    const temporaries = dryRun ? null : await this.content.removeStaleTemporaries();
    const expiredLeases = dryRun ? 0 : await this.references.removeExpiredLeases();
    return {
      dryRun,
      graceSeconds: graceMs / 1000,
      ...report,
      temporaries: temporaries && { removed: temporaries.removedKeys.length, abortedUploads: temporaries.abortedUploads ?? null },
      expiredLeases,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    };
  }
}

function zero(): ByteCount {
  return { count: 0, bytes: 0 };
}

function add(count: ByteCount, bytes: number): void {
  count.count++;
  count.bytes += bytes;
}
