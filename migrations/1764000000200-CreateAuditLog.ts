import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAuditLog1764000000200 implements MigrationInterface {
  name = 'CreateAuditLog1764000000200';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_events (
        seq         bigint PRIMARY KEY CHECK (seq > 0),
        occurred_at timestamptz NOT NULL,
        actor       text NOT NULL,
        action      text NOT NULL,
        subject     text NOT NULL,
        payload     jsonb NOT NULL DEFAULT '{}',
        prev_hash   text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
      )`);
    await db.query('CREATE INDEX audit_events_subject_idx ON audit_events (subject, seq DESC)');
    await db.query('CREATE INDEX audit_events_action_idx ON audit_events (action, seq DESC)');
    await db.query('CREATE INDEX audit_events_actor_idx ON audit_events (actor, seq DESC)');
    // One row: the chain's head. Appenders lock it, so replicas extend one linear chain.
    await db.query(`
      CREATE TABLE audit_chain_head (
        id   boolean PRIMARY KEY DEFAULT true CHECK (id),
        seq  bigint NOT NULL,
        hash text NOT NULL
      )`);
    await db.query(`INSERT INTO audit_chain_head (seq, hash) VALUES (0, repeat('0', 64))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE audit_chain_head');
    await db.query('DROP TABLE audit_events');
  }
}
