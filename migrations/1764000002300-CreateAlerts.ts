import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Production monitoring. `production_monitors` holds, per model, the version
 * in production and when its alert rules are next evaluated: the row a
 * replica updates behind the model's lock, so each evaluation happens once.
 * `alerts` are raised once per version and rule, updated while they last and
 * resolved when they clear; at most one is firing per version and rule.
 * `rollback_shifts` are gradual rollbacks under way: the previous version
 * takes traffic back through the canary pointer until it is production again.
 */
export class CreateAlerts1764000002300 implements MigrationInterface {
  name = 'CreateAlerts1764000002300';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE production_monitors (
        model_id           uuid PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
        version_id         uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        next_evaluation_at timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE alerts (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq           bigserial NOT NULL UNIQUE,
        model_id      uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        version_id    uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        rule          text NOT NULL,
        metric        text NOT NULL,
        severity      text NOT NULL CHECK (severity IN ('warning', 'critical')),
        state         text NOT NULL CHECK (state IN ('firing', 'resolved')),
        value         double precision,
        threshold     double precision,
        samples       bigint NOT NULL,
        evaluations   integer NOT NULL DEFAULT 1,
        raised_at     timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        resolved_at   timestamptz,
        rollback      jsonb
      )`);
    await db.query(`CREATE UNIQUE INDEX alerts_one_firing ON alerts (version_id, rule) WHERE state = 'firing'`);
    await db.query('CREATE INDEX alerts_model ON alerts (model_id, seq DESC)');
    await db.query(`
      CREATE TABLE rollback_shifts (
        model_id         uuid PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
        from_version_id  uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        to_version_id    uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        alert_id         uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
        started_at       timestamptz NOT NULL DEFAULT now(),
        duration_seconds integer NOT NULL CHECK (duration_seconds > 0)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE rollback_shifts');
    await db.query('DROP TABLE alerts');
    await db.query('DROP TABLE production_monitors');
  }
}
