import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { mergeAggregates } from '@gatehouse/canary-judge';
import type { TelemetryConfig } from '@gatehouse/config';
import { TransactionRunner } from '@gatehouse/database';
import { TelemetryRepository, type PendingLabel, type WindowDelta } from './telemetry.repository';
import { TELEMETRY_SETTINGS } from './telemetry-settings';

/** What one report writes: its folded windows, and the predictions it leaves waiting for their labels. */
export interface ReportWrites {
  modelId: string;
  deltas: WindowDelta[];
  pending: PendingLabel[];
}

interface Queued {
  writes: ReportWrites;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const HOUR_MS = 3600_000;
/** Reports in one transaction at most, so that one stays short however far the queue has grown. */
const MAX_GROUP = 64;

/**
 * Group commit for telemetry reports. A fleet's batches land in the same few
 * windows (one per version and minute), and merging a window locks its row
 * until the transaction commits, so concurrent reports wait for each other
 * there one by one: under bench:telemetry's load a report spent 22 ms of its
 * 25 in its transaction, nearly all of it queued on those locks. So a
 * replica writes one transaction at a time: the reports that arrive
 * meanwhile go together in the next one, their deltas for a window merged in
 * memory first, so each window's row is locked once per group. A report
 * still answers only once the transaction holding its writes has committed,
 * and a group commits all of them or none; a group that fails is written
 * again one report at a time, so that one report's failure is its own.
 */
@Injectable()
export class TelemetryWriter implements OnApplicationShutdown {
  private readonly queue: Queued[] = [];
  private writing?: Promise<void>;

  constructor(
    private readonly repository: TelemetryRepository,
    private readonly transactions: TransactionRunner,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetryConfig,
  ) {}

  /** Resolves once the report's writes are committed. */
  write(writes: ReportWrites): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  /** Reports already taken in are written before the database closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        try {
          await this.commit(group.map((queued) => queued.writes));
          for (const queued of group) queued.resolve();
        } catch (error) {
          if (group.length === 1) group[0].reject(error);
          else for (const queued of group) await this.commit([queued.writes]).then(queued.resolve, queued.reject);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private commit(group: ReportWrites[]): Promise<void> {
    const expiresAt = new Date(Date.now() + this.settings.labelWaitHours * HOUR_MS);
    const pendingByModel = new Map<string, PendingLabel[]>();
    for (const { modelId, pending } of group) if (pending.length > 0) pendingByModel.set(modelId, [...(pendingByModel.get(modelId) ?? []), ...pending]);
    return this.transactions.run(async (tx) => {
      await this.repository.mergeWindows(tx, mergedByWindow(group.flatMap((writes) => writes.deltas)), mergeAggregates);
      // Models in id order, as replicas lock their rows; within one, in report order, so a request id reported
      // again keeps the latest prediction, as it would written one report at a time.
      for (const modelId of [...pendingByModel.keys()].sort()) await this.repository.awaitLabels(tx, modelId, pendingByModel.get(modelId)!, expiresAt);
    });
  }
}

/** The deltas with one per window: those of the same version and window added together. */
function mergedByWindow(deltas: WindowDelta[]): WindowDelta[] {
  const byWindow = new Map<string, WindowDelta>();
  for (const delta of deltas) {
    const key = `${delta.versionId}/${delta.windowStart.getTime()}`;
    const earlier = byWindow.get(key);
    byWindow.set(key, earlier ? { ...earlier, observations: earlier.observations + delta.observations, aggregate: mergeAggregates(earlier.aggregate, delta.aggregate) } : delta);
  }
  return [...byWindow.values()];
}
