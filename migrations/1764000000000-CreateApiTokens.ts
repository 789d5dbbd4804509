import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiTokens1764000000000 implements MigrationInterface {
  name = 'CreateApiTokens1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_tokens (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name         text NOT NULL,
        token_hash   text NOT NULL,
        roles        text[] NOT NULL CHECK (cardinality(roles) > 0
                       AND roles <@ ARRAY['admin','ml_engineer','data_scientist','approver','reader']),
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        revoked_at   timestamptz,
        last_used_at timestamptz,
        CONSTRAINT api_tokens_name_key UNIQUE (name),
        CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE api_tokens');
  }
}
