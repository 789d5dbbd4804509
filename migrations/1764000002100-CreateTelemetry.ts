import type { MigrationInterface, QueryRunner } from 'typeorm';

const ROLES_BEFORE = `ARRAY['admin','ml_engineer','data_scientist','approver','reader']`;
const ROLES_AFTER = `ARRAY['admin','ml_engineer','data_scientist','approver','reader','reporter']`;

/**
 * What serving systems report, kept as mergeable aggregates: one row per
 * version and time window (a latency sketch, counts, class counts and
 * histograms in `aggregate`), never one per request. Observations of the same
 * window from several requests and replicas merge into its row under the
 * row's lock. Predictions waiting for a label that arrives later are the only
 * per-request rows, and they expire. A version's reference profile (the bins
 * its training data gives its features) is computed once and kept.
 * The `reporter` role is for the serving systems: it may send telemetry and read, nothing else.
 */
export class CreateTelemetry1764000002100 implements MigrationInterface {
  name = 'CreateTelemetry1764000002100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE telemetry_windows (
        version_id   uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        window_start timestamptz NOT NULL,
        observations bigint NOT NULL CHECK (observations >= 0),
        aggregate    jsonb NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (version_id, window_start)
      )`);
    await db.query('CREATE INDEX telemetry_windows_window_start_idx ON telemetry_windows (window_start)');
    await db.query(`
      CREATE TABLE telemetry_pending_labels (
        model_id     uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        request_id   text NOT NULL,
        version_id   uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        window_start timestamptz NOT NULL,
        prediction   jsonb NOT NULL,
        expires_at   timestamptz NOT NULL,
        PRIMARY KEY (model_id, request_id)
      )`);
    await db.query('CREATE INDEX telemetry_pending_labels_expires_at_idx ON telemetry_pending_labels (expires_at)');
    await db.query(`
      CREATE TABLE telemetry_profiles (
        version_id     uuid PRIMARY KEY REFERENCES model_versions (id) ON DELETE CASCADE,
        dataset        text,
        profile        jsonb,
        created_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT telemetry_profiles_dataset CHECK ((dataset IS NULL) = (profile IS NULL))
      )`);
    await db.query('ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_roles_check');
    await db.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_roles_check CHECK (cardinality(roles) > 0 AND roles <@ ${ROLES_AFTER})`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM api_tokens WHERE 'reporter' = ANY (roles)`);
    await db.query('ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_roles_check');
    await db.query(`ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_roles_check CHECK (cardinality(roles) > 0 AND roles <@ ${ROLES_BEFORE})`);
    await db.query('DROP TABLE telemetry_profiles');
    await db.query('DROP TABLE telemetry_pending_labels');
    await db.query('DROP TABLE telemetry_windows');
  }
}
