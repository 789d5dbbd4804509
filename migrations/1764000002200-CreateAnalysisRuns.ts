import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Canary analyses: one run per canary promotion, with its policy as it was
 * when the canary started, where the schedule stands (`state`), and when its
 * next interval is judged. A model has at most one active run. Each judged
 * interval is a row of its own, keyed by its number, so two replicas can
 * never record (and act on) the same interval twice.
 */
export class CreateAnalysisRuns1764000002200 implements MigrationInterface {
  name = 'CreateAnalysisRuns1764000002200';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE analysis_runs (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq                 bigserial NOT NULL UNIQUE,
        model_id            uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        version_id          uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        baseline_version_id uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        status              text NOT NULL CHECK (status IN ('running', 'paused', 'passed', 'rolled_back', 'aborted', 'cancelled')),
        policy              jsonb NOT NULL,
        state               jsonb NOT NULL,
        next_interval_at    timestamptz NOT NULL,
        started_by          text NOT NULL,
        started_at          timestamptz NOT NULL DEFAULT now(),
        finished_at         timestamptz,
        outcome             jsonb
      )`);
    await db.query(`CREATE UNIQUE INDEX analysis_runs_one_active ON analysis_runs (model_id) WHERE status IN ('running', 'paused')`);
    await db.query(`CREATE INDEX analysis_runs_due ON analysis_runs (next_interval_at) WHERE status = 'running'`);
    await db.query('CREATE INDEX analysis_runs_version ON analysis_runs (version_id, seq DESC)');
    await db.query(`
      CREATE TABLE analysis_intervals (
        run_id          uuid NOT NULL REFERENCES analysis_runs (id) ON DELETE CASCADE,
        number          integer NOT NULL CHECK (number >= 1),
        step            integer NOT NULL,
        traffic_percent integer NOT NULL,
        window_start    timestamptz NOT NULL,
        window_end      timestamptz NOT NULL,
        verdict         text NOT NULL CHECK (verdict IN ('pass', 'fail', 'inconclusive')),
        metrics         jsonb NOT NULL,
        problem         text,
        action          text NOT NULL,
        judged_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, number)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE analysis_intervals');
    await db.query('DROP TABLE analysis_runs');
  }
}
