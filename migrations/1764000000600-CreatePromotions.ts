import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePromotions1764000000600 implements MigrationInterface {
  name = 'CreatePromotions1764000000600';

  async up(db: QueryRunner): Promise<void> {
    // Which version holds each stage of a model: one per stage, and a version holds one stage at most.
    await db.query(`
      CREATE TABLE stage_assignments (
        model_id        uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        stage           text NOT NULL CHECK (stage IN ('staging','canary','production')),
        version_id      uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE CONSTRAINT stage_assignments_version_key UNIQUE,
        traffic_percent integer CHECK (traffic_percent BETWEEN 1 AND 100),
        assigned_by     text NOT NULL,
        assigned_at     timestamptz NOT NULL DEFAULT now(),
        promotion_id    uuid,
        PRIMARY KEY (model_id, stage),
        CONSTRAINT stage_assignments_traffic_on_canary CHECK ((stage = 'canary') = (traffic_percent IS NOT NULL))
      )`);
    // Every move of a version between stages, for lineage audits and rollback targets.
    await db.query(`
      CREATE TABLE stage_events (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_id     uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        version_id   uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        stage        text NOT NULL CHECK (stage IN ('staging','canary','production')),
        action       text NOT NULL CHECK (action IN ('promoted','replaced','rolled_back','restored','canary_aborted')),
        actor        text NOT NULL,
        approvers    text[] NOT NULL DEFAULT '{}',
        promotion_id uuid,
        gate_run_id  uuid,
        reason       text,
        at           timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query('CREATE INDEX stage_events_version ON stage_events (version_id, seq)');
    await db.query('CREATE INDEX stage_events_model ON stage_events (model_id, seq DESC)');
    await db.query(`
      CREATE TABLE promotions (
        id                            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq                           bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT promotions_seq_key UNIQUE,
        model_id                      uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        version_id                    uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        stage                         text NOT NULL CHECK (stage IN ('staging','canary','production')),
        traffic_percent               integer CHECK (traffic_percent BETWEEN 1 AND 100),
        reason                        text,
        status                        text NOT NULL CHECK (status IN ('gating','awaiting_approval','completed','rejected')),
        requested_by                  text NOT NULL,
        requested_by_token            uuid NOT NULL,
        required_approvals            integer NOT NULL CHECK (required_approvals >= 0),
        gate_run_id                   uuid REFERENCES gate_runs (id),
        gate_runs                     uuid[] NOT NULL DEFAULT '{}',
        expected_stage_version_id     uuid,
        expected_production_version_id uuid,
        outcome                       jsonb,
        created_at                    timestamptz NOT NULL DEFAULT now(),
        updated_at                    timestamptz NOT NULL DEFAULT now(),
        completed_at                  timestamptz,
        CONSTRAINT promotions_traffic_on_canary CHECK ((stage = 'canary') = (traffic_percent IS NOT NULL))
      )`);
    // One open request per model and stage: concurrent requests race on this index and all but one get a 409.
    await db.query(`CREATE UNIQUE INDEX promotions_one_open_per_stage ON promotions (model_id, stage) WHERE status IN ('gating','awaiting_approval')`);
    await db.query('CREATE INDEX promotions_gate_run ON promotions (gate_run_id)');
    await db.query('CREATE INDEX promotions_version ON promotions (version_id, seq DESC)');
    await db.query(`
      CREATE TABLE promotion_decisions (
        promotion_id uuid NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
        token_id     uuid NOT NULL,
        actor        text NOT NULL,
        decision     text NOT NULL CHECK (decision IN ('approve','reject')),
        comment      text,
        decided_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (promotion_id, token_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE promotion_decisions');
    await db.query('DROP TABLE promotions');
    await db.query('DROP TABLE stage_events');
    await db.query('DROP TABLE stage_assignments');
  }
}
