import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '@gatehouse/database';

/** How long a lease keeps a stored blob that nothing references yet: far longer than recording its reference takes. */
export const BLOB_LEASE_MS = 15 * 60 * 1000;

/**
 * What keeps a stored blob alive: a version's file (pending or committed),
 * a dataset, or a live lease. Leases and collection take the blob's
 * advisory lock, on every replica, so that one never races the other.
 */
@Injectable()
export class BlobReferenceRepository {
  constructor(private readonly transactions: TransactionRunner) {}

  /**
   * Leases `sha256` for {@link BLOB_LEASE_MS} for one upload, in a
   * transaction of its own that has committed when this resolves; returns
   * the lease, which the transaction recording the reference releases.
   */
  async lease(sha256: string): Promise<string> {
    return this.transactions.run(async (tx) => {
      await lockBlob(tx, sha256);
      const [row] = await tx.query<{ id: string }[]>(`INSERT INTO blob_leases (sha256, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond') RETURNING id`, [
        sha256,
        BLOB_LEASE_MS,
      ]);
      return row.id;
    });
  }

  /** Ends a lease in the transaction that records what references the blob: from its commit on, the reference holds it. */
  async release(tx: EntityManager, lease: string | undefined): Promise<void> {
    if (lease !== undefined) await tx.query('DELETE FROM blob_leases WHERE id = $1', [lease]);
  }

  /** Runs `work` holding the blob's lock, told whether anything keeps the blob: a version's file, a dataset or a live lease. */
  async whileLocked<T>(sha256: string, work: (kept: boolean) => Promise<T>): Promise<T> {
    return this.transactions.run(async (tx) => {
      await lockBlob(tx, sha256);
      const [row] = await tx.query<{ kept: boolean }[]>(
        `SELECT EXISTS (SELECT 1 FROM version_files WHERE sha256 = $1)
             OR EXISTS (SELECT 1 FROM datasets WHERE sha256 = $1)
             OR EXISTS (SELECT 1 FROM blob_leases WHERE sha256 = $1 AND expires_at > now()) AS kept`,
        [sha256],
      );
      return work(row.kept);
    });
  }

  /** Removes every expired lease; returns how many. */
  async removeExpiredLeases(): Promise<number> {
    // A DELETE answers [rows, count].
    const [, count] = await this.transactions.run((tx) => tx.query<[unknown[], number]>('DELETE FROM blob_leases WHERE expires_at <= now()'));
    return count;
  }
}

function lockBlob(tx: EntityManager, sha256: string): Promise<unknown> {
  return tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`blob:${sha256}`]);
}
