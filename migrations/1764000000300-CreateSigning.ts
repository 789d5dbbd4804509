import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateSigning1764000000300 implements MigrationInterface {
  name = 'CreateSigning1764000000300';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE trusted_signers (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name           text NOT NULL CONSTRAINT trusted_signers_name_key UNIQUE,
        kind           text NOT NULL CHECK (kind IN ('public_key')),
        public_key_pem text NOT NULL,
        fingerprint    text NOT NULL CONSTRAINT trusted_signers_fingerprint_key UNIQUE CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
        expires_at     timestamptz,
        created_by     text NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        revoked_at     timestamptz
      )`);
    await db.query(`
      CREATE TABLE version_signatures (
        version_id  uuid PRIMARY KEY REFERENCES model_versions (id) ON DELETE CASCADE,
        signer_id   uuid NOT NULL REFERENCES trusted_signers (id),
        bundle      jsonb NOT NULL,
        verified_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE version_signatures');
    await db.query('DROP TABLE trusted_signers');
  }
}
