import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each version's latest artifact-scan verdict, with the scanner version and
 * policy digest it was reached under: what the registry compares at start to
 * know what to re-scan, and what a flagged version is blocked by.
 */
export class VersionSecurityVerdict1764000000800 implements MigrationInterface {
  name = 'VersionSecurityVerdict1764000000800';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE model_versions ADD COLUMN security jsonb');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE model_versions DROP COLUMN security');
  }
}
