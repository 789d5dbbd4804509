import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A running gate run shows the check it is in and how many are done, for `gatehouse gate --wait` and the console. */
export class GateRunProgress1764000001500 implements MigrationInterface {
  name = 'GateRunProgress1764000001500';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE gate_runs ADD COLUMN progress jsonb');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE gate_runs DROP COLUMN progress');
  }
}
