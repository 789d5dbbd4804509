export { DatabaseModule } from './database.module';
export { migrateDatabase, type EntityList, type SchemaDefinition } from './database-connection';
export { TransactionRunner } from './transaction-runner';
export { TransactionalEvent } from './transactional-event';
export { DatabaseHealth } from './database-health';
export { PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION, isConnectionFailure, sqlState } from './postgres-errors';
export { isAlive } from './embedded-postgres';
export { bigintAsNumber } from './column-transformers';
export { ReadCache } from './read-cache';
