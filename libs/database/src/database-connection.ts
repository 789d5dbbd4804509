import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '@gatehouse/config';
import { EmbeddedPostgres } from './embedded-postgres';

/** What the application's libs contribute to the one schema. */
/** The entities one lib maps: each lib exports its list for the registry's schema, never the classes. */
export type EntityList = Extract<NonNullable<DataSourceOptions['entities']>, unknown[]>;

export interface SchemaDefinition {
  entities: NonNullable<DataSourceOptions['entities']>;
  migrations: NonNullable<DataSourceOptions['migrations']>;
}

/** Replicas starting together must not run the same migration twice. */
const MIGRATION_LOCK_KEY = 0x6761_7465; // "gate"

/** An open, migrated DataSource and, in embedded mode, the PGlite behind it. */
export class DatabaseConnection {
  private static readonly logger = new Logger('Database');

  private constructor(
    readonly dataSource: DataSource,
    private readonly embedded?: EmbeddedPostgres,
  ) {}

  static async open(config: DatabaseConfig, schema: SchemaDefinition): Promise<DatabaseConnection> {
    const embedded = config.kind === 'embedded' ? await DatabaseConnection.startEmbedded(config.dataDir) : undefined;
    const dataSource = new DataSource({
      type: 'postgres',
      ...(config.kind === 'postgres' ? { url: config.url, poolSize: config.poolSize } : { ...embedded!.connection, poolSize: 1 }),
      applicationName: 'gatehouse',
      entities: schema.entities,
      migrations: schema.migrations,
      migrationsTableName: 'schema_migrations',
      migrationsTransactionMode: 'each',
      synchronize: false,
      logging: false,
    });
    try {
      await dataSource.initialize();
      await DatabaseConnection.migrate(dataSource, !embedded);
    } catch (error) {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
      throw error;
    }
    DatabaseConnection.logger.log(config.kind === 'embedded' ? `embedded PGlite at ${config.dataDir}` : 'connected to Postgres');
    return new DatabaseConnection(dataSource, embedded);
  }

  /** A first start runs initdb, which takes seconds: it is said before, and when it is done. */
  private static async startEmbedded(dataDir: string): Promise<EmbeddedPostgres> {
    const initialising = !existsSync(join(dataDir, 'PG_VERSION'));
    const started = Date.now();
    if (initialising) DatabaseConnection.logger.log(`initialising the embedded database (first start, in ${dataDir}; this takes a few seconds)…`);
    const embedded = await EmbeddedPostgres.start(dataDir);
    if (initialising) DatabaseConnection.logger.log(`embedded database initialised in ${secondsSince(started)}`);
    return embedded;
  }

  private static async migrate(dataSource: DataSource, shared: boolean): Promise<void> {
    const started = Date.now();
    const applied = await DatabaseConnection.runMigrations(dataSource, shared);
    if (applied.length === 0) return;
    const names = applied.map((migration) => migration.name);
    DatabaseConnection.logger.log(
      `applied ${applied.length} migration${applied.length === 1 ? '' : 's'} in ${secondsSince(started)}: ${names.length > 3 ? `${names[0]} … ${names.at(-1)}` : names.join(', ')}`,
    );
  }

  private static async runMigrations(dataSource: DataSource, shared: boolean): Promise<{ name: string }[]> {
    // The embedded database has a single connection and a single process: no one to race.
    if (!shared) return dataSource.runMigrations();
    const lock = dataSource.createQueryRunner();
    await lock.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      return await dataSource.runMigrations();
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      await lock.release();
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded?.stop();
  }
}

const secondsSince = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)} s`;

/** Applies pending migrations and closes the connection. */
export async function migrateDatabase(config: DatabaseConfig, schema: SchemaDefinition): Promise<void> {
  const connection = await DatabaseConnection.open(config, schema);
  await connection.close();
}
