import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Re-scans are gate runs with their own trigger. At most one is open per
 * version, whichever replica queued it: the index makes a second one a
 * constraint violation rather than duplicate work.
 */
export class GateRunRescans1764000000900 implements MigrationInterface {
  name = 'GateRunRescans1764000000900';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE gate_runs DROP CONSTRAINT gate_runs_trigger_check');
    await db.query(`ALTER TABLE gate_runs ADD CONSTRAINT gate_runs_trigger_check CHECK (trigger IN ('commit','request','promotion','rescan'))`);
    await db.query(`CREATE UNIQUE INDEX gate_runs_one_open_rescan ON gate_runs (version_id) WHERE trigger = 'rescan' AND status IN ('queued','running')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX gate_runs_one_open_rescan');
    // The old constraint admits no re-scan runs; their outcomes stay on the versions and in the audit log.
    await db.query(`DELETE FROM gate_runs WHERE trigger = 'rescan'`);
    await db.query('ALTER TABLE gate_runs DROP CONSTRAINT gate_runs_trigger_check');
    await db.query(`ALTER TABLE gate_runs ADD CONSTRAINT gate_runs_trigger_check CHECK (trigger IN ('commit','request','promotion'))`);
  }
}
