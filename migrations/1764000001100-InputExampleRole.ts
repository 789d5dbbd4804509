import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A version may name input examples (role `example`): complete feeds the gates run the model on instead of synthesised inputs. */
export class InputExampleRole1764000001100 implements MigrationInterface {
  name = 'InputExampleRole1764000001100';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE version_datasets DROP CONSTRAINT version_datasets_role_check');
    await db.query(`ALTER TABLE version_datasets ADD CONSTRAINT version_datasets_role_check CHECK (role IN ('training','validation','evaluation','reference','example'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM version_datasets WHERE role = 'example'`);
    await db.query('ALTER TABLE version_datasets DROP CONSTRAINT version_datasets_role_check');
    await db.query(`ALTER TABLE version_datasets ADD CONSTRAINT version_datasets_role_check CHECK (role IN ('training','validation','evaluation','reference'))`);
  }
}
