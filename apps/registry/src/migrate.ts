import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '@gatehouse/config';
import { migrateDatabase } from '@gatehouse/database';
import { exitWithError } from './fatal-error';
import { createLogger } from './registry-logger';
import { registrySchema } from './schema';

async function migrate(): Promise<void> {
  const config = loadConfig(process.env);
  Logger.overrideLogger(createLogger(config));
  await migrateDatabase(config.database, registrySchema);
}

/** `npm run migrate`: applies pending migrations and exits; the server also does this on start. */
migrate().catch(exitWithError);
