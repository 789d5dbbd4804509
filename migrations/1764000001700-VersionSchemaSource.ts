import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a version's io_schema came from: `declared` by the registrant, or
 * `inferred` from the model's graph by a gate run when none was declared.
 * Every schema stored so far was declared. A schema always has a source.
 */
export class VersionSchemaSource1764000001700 implements MigrationInterface {
  name = 'VersionSchemaSource1764000001700';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE model_versions ADD COLUMN schema_source text CONSTRAINT model_versions_schema_source_check CHECK (schema_source IN ('declared','inferred'))`);
    await db.query(`UPDATE model_versions SET schema_source = 'declared' WHERE io_schema IS NOT NULL`);
    await db.query('ALTER TABLE model_versions ADD CONSTRAINT model_versions_schema_has_source CHECK ((io_schema IS NULL) = (schema_source IS NULL))');
  }

  /** An inferred schema goes with its source: left behind, it would read as declared. */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`UPDATE model_versions SET io_schema = NULL, schema_source = NULL WHERE schema_source = 'inferred'`);
    await db.query('ALTER TABLE model_versions DROP COLUMN schema_source');
  }
}
