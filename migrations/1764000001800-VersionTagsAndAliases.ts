import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key/value tags on versions, like MLflow's: a jsonb object of strings, so a
 * version's tags are read with its row and changed under its row lock, and a
 * GIN index answers `tags @> '{"key": "value"}'` for filtered version lists.
 *
 * Aliases, like MLflow's `@champion` and W&B's: a name per model pointing at
 * one of its versions, moved by replacing the row's version in one statement.
 * Labels only: stages stay the gated path to serving.
 */
export class VersionTagsAndAliases1764000001800 implements MigrationInterface {
  name = 'VersionTagsAndAliases1764000001800';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE model_versions ADD COLUMN tags jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT model_versions_tags_object CHECK (jsonb_typeof(tags) = 'object')`);
    await db.query('CREATE INDEX model_versions_tags ON model_versions USING gin (tags jsonb_path_ops)');
    await db.query(`
      CREATE TABLE model_aliases (
        model_id uuid NOT NULL REFERENCES models(id),
        alias text NOT NULL CONSTRAINT model_aliases_name CHECK (alias ~ '^[a-z][a-z0-9_-]{0,63}$'),
        version_id uuid NOT NULL REFERENCES model_versions(id),
        set_by text NOT NULL,
        set_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_id, alias)
      )`);
    await db.query('CREATE INDEX model_aliases_version ON model_aliases (version_id)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE model_aliases');
    await db.query('DROP INDEX model_versions_tags');
    await db.query('ALTER TABLE model_versions DROP COLUMN tags');
  }
}
