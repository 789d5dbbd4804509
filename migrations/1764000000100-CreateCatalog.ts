import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCatalog1764000000100 implements MigrationInterface {
  name = 'CreateCatalog1764000000100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE models (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name        text NOT NULL CONSTRAINT models_name_key UNIQUE
                      CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
        description text,
        owner       text,
        tags        text[] NOT NULL DEFAULT '{}',
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query('CREATE INDEX models_tags_idx ON models USING gin (tags)');

    await db.query(`
      CREATE TABLE model_versions (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        model_id        uuid NOT NULL REFERENCES models (id),
        seq             bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT model_versions_seq_key UNIQUE,
        version         text NOT NULL,
        status          text NOT NULL DEFAULT 'pending_upload'
                          CHECK (status IN ('pending_upload','registered','validating','validated','rejected')),
        stage           text NOT NULL DEFAULT 'none'
                          CHECK (stage IN ('none','staging','canary','production','archived','rolled_back')),
        task            text NOT NULL CHECK (task IN ('classification','regression','generative','other')),
        format          text,
        description     text,
        metrics         jsonb NOT NULL DEFAULT '{}',
        params          jsonb NOT NULL DEFAULT '{}',
        environment     jsonb NOT NULL DEFAULT '{}',
        source          jsonb NOT NULL DEFAULT '{}',
        io_schema       jsonb,
        manifest_digest text,
        total_size      bigint,
        file_count      integer,
        created_by      text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        committed_at    timestamptz,
        CONSTRAINT model_versions_model_version_key UNIQUE (model_id, version),
        CONSTRAINT model_versions_committed_sealed CHECK (
          (status = 'pending_upload') = (committed_at IS NULL AND manifest_digest IS NULL))
      )`);
    await db.query('CREATE INDEX model_versions_model_seq_idx ON model_versions (model_id, seq DESC)');

    await db.query(`
      CREATE TABLE version_files (
        version_id  uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        path        text NOT NULL,
        sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size        bigint NOT NULL CHECK (size >= 0),
        media_type  text NOT NULL,
        uploaded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (version_id, path)
      )`);
    await db.query('CREATE INDEX version_files_sha256_idx ON version_files (sha256)');

    await db.query(`
      CREATE TABLE datasets (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
        version      text NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$'),
        description  text,
        sha256       text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size         bigint CHECK (size >= 0),
        uri          text,
        stored       boolean NOT NULL DEFAULT false,
        data_schema  jsonb,
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT datasets_name_version_key UNIQUE (name, version),
        CONSTRAINT datasets_stored_has_digest CHECK (NOT stored OR (sha256 IS NOT NULL AND size IS NOT NULL))
      )`);

    await db.query(`
      CREATE TABLE version_datasets (
        version_id uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        dataset_id uuid NOT NULL REFERENCES datasets (id),
        role       text NOT NULL CHECK (role IN ('training','validation','evaluation','reference')),
        PRIMARY KEY (version_id, role, dataset_id)
      )`);
    await db.query('CREATE INDEX version_datasets_dataset_idx ON version_datasets (dataset_id)');

    // Parents exist before their children and edges are only added with the child, so no edge can close a cycle.
    await db.query(`
      CREATE TABLE lineage_edges (
        child_version_id  uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        parent_version_id uuid NOT NULL REFERENCES model_versions (id),
        relation          text NOT NULL,
        PRIMARY KEY (child_version_id, parent_version_id),
        CHECK (child_version_id <> parent_version_id)
      )`);
    await db.query('CREATE INDEX lineage_edges_parent_idx ON lineage_edges (parent_version_id)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE lineage_edges');
    await db.query('DROP TABLE version_datasets');
    await db.query('DROP TABLE datasets');
    await db.query('DROP TABLE version_files');
    await db.query('DROP TABLE model_versions');
    await db.query('DROP TABLE models');
  }
}
