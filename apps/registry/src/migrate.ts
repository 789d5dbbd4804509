import 'reflect-metadata';
import { ConfigError, loadConfig } from '@gatehouse/config';
import { migrateDatabase } from '@gatehouse/database';
import { registrySchema } from './schema';

/** `npm run migrate`: applies pending migrations and exits; the server also does this on start. */
migrateDatabase(loadConfig(process.env).database, registrySchema).catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
