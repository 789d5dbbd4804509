import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What one model's artifact scan allows beyond the gate policy (pickle
 * globals, ONNX operator domains), with who set it, when and why; null until
 * an admin sets one. Every change is also in the audit log.
 */
export class ModelScanAllowances1764000001000 implements MigrationInterface {
  name = 'ModelScanAllowances1764000001000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE models ADD COLUMN scan_allowances jsonb');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE models DROP COLUMN scan_allowances');
  }
}
