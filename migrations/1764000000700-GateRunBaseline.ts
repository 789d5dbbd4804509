import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The version a gate run compares its candidate with (production when the
 * run was queued), fixed at enqueue: retries compare with the same one, and
 * a promotion completes only if production is still the version its gate judged against.
 */
export class GateRunBaseline1764000000700 implements MigrationInterface {
  name = 'GateRunBaseline1764000000700';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE gate_runs ADD COLUMN baseline_version_id uuid REFERENCES model_versions (id)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE gate_runs DROP COLUMN baseline_version_id');
  }
}
