import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Signers may also be X.509 certificates (end-entity) or CA roots, identified by the SHA-256 of their DER. */
export class TrustCertificates1764000000400 implements MigrationInterface {
  name = 'TrustCertificates1764000000400';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE trusted_signers ADD COLUMN certificate_pem text');
    await db.query('ALTER TABLE trusted_signers DROP CONSTRAINT trusted_signers_kind_check');
    await db.query(`
      ALTER TABLE trusted_signers ADD CONSTRAINT trusted_signers_kind_check CHECK (
        (kind = 'public_key' AND certificate_pem IS NULL) OR (kind IN ('certificate', 'ca') AND certificate_pem IS NOT NULL))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM trusted_signers WHERE kind <> 'public_key'`);
    await db.query('ALTER TABLE trusted_signers DROP CONSTRAINT trusted_signers_kind_check');
    await db.query(`ALTER TABLE trusted_signers ADD CONSTRAINT trusted_signers_kind_check CHECK (kind IN ('public_key'))`);
    await db.query('ALTER TABLE trusted_signers DROP COLUMN certificate_pem');
  }
}
