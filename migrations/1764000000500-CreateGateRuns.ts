import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateGateRuns1764000000500 implements MigrationInterface {
  name = 'CreateGateRuns1764000000500';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gate_runs (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq              bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT gate_runs_seq_key UNIQUE,
        version_id       uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        stage            text NOT NULL CHECK (stage IN ('registered','staging','canary','production')),
        trigger          text NOT NULL CHECK (trigger IN ('commit','request','promotion')),
        requested_by     text NOT NULL,
        policy           jsonb NOT NULL,
        status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','running','passed','failed','error')),
        attempts         integer NOT NULL DEFAULT 0,
        max_attempts     integer NOT NULL CHECK (max_attempts > 0),
        run_after        timestamptz NOT NULL DEFAULT now(),
        lease_owner      text,
        lease_expires_at timestamptz,
        health_score     double precision,
        report           jsonb,
        last_error       jsonb,
        created_at       timestamptz NOT NULL DEFAULT now(),
        started_at       timestamptz,
        finished_at      timestamptz,
        CONSTRAINT gate_runs_lease_while_running CHECK ((status = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
        CONSTRAINT gate_runs_finished_when_done CHECK ((status IN ('passed','failed','error')) = (finished_at IS NOT NULL))
      )`);
    // Workers poll for what they may claim; keep that scan to the live rows.
    await db.query(`CREATE INDEX gate_runs_claimable ON gate_runs (seq) WHERE status IN ('queued','running')`);
    await db.query('CREATE INDEX gate_runs_version ON gate_runs (version_id, seq DESC)');
    await db.query('ALTER TABLE model_versions ADD COLUMN last_gate jsonb');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE model_versions DROP COLUMN last_gate');
    await db.query('DROP TABLE gate_runs');
  }
}
