import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A promotion keeps the roles its policy listed as approvers when it was
 * requested, as it keeps the approvals it needs. Requests made before this
 * had the approver role alone (admin also passed then; it no longer does).
 */
export class PromotionApproverRoles1764000001400 implements MigrationInterface {
  name = 'PromotionApproverRoles1764000001400';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE promotions ADD COLUMN approver_roles text[] NOT NULL DEFAULT '{approver}'`);
    await db.query('ALTER TABLE promotions ALTER COLUMN approver_roles DROP DEFAULT');
    await db.query(`ALTER TABLE promotions ADD CONSTRAINT promotions_approver_roles_present CHECK (cardinality(approver_roles) > 0)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE promotions DROP COLUMN approver_roles');
  }
}
