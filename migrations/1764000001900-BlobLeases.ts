import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A lease on a blob just stored and not yet referenced: an upload takes one,
 * under the blob's advisory lock, between hashing its bytes and recording the
 * file or dataset that names them. The collector deletes a blob only under
 * the same lock and only when no row references it and no lease is live, so
 * bytes that are being uploaded, were just uploaded or are being committed
 * are never collected. One row per upload, released in the transaction that
 * records the reference; a crashed upload's lease expires, and the collector
 * removes expired ones.
 */
export class BlobLeases1764000001900 implements MigrationInterface {
  name = 'BlobLeases1764000001900';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE blob_leases (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        sha256 text NOT NULL CONSTRAINT blob_leases_sha256 CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        expires_at timestamptz NOT NULL
      )`);
    await db.query('CREATE INDEX blob_leases_sha256_idx ON blob_leases (sha256)');
    // version_files has its sha256 index since CreateCatalog; the collector asks datasets by digest too.
    await db.query('CREATE INDEX datasets_sha256_idx ON datasets (sha256)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX datasets_sha256_idx');
    await db.query('DROP TABLE blob_leases');
  }
}
