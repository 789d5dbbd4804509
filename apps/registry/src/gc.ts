import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { BlobCollector } from '@gatehouse/catalog';
import { ConfigError, loadConfig } from '@gatehouse/config';
import { createRegistry } from './create-registry';
import { exitWithError } from './fatal-error';
import { createLogger } from './registry-logger';

/**
 * `npm run gc [-- --dry-run]`: one blob collection against the configured
 * database and blob store, then exit, printing the report as JSON. It runs no
 * gates and serves nothing. On the embedded default, stop the server first
 * (or ask it: `gatehouse admin gc`), since one process holds the database.
 */
async function collect(): Promise<void> {
  const dryRun = process.argv.includes('--dry-run');
  const unknown = process.argv.slice(2).filter((argument) => argument !== '--dry-run');
  if (unknown.length > 0) throw new ConfigError([`unknown argument ${unknown.join(' ')}: npm run gc takes only --dry-run`]);
  const loaded = loadConfig(process.env);
  const config = { ...loaded, gates: { ...loaded.gates, workers: 0, rescanOnStart: false }, collector: { ...loaded.collector, intervalMinutes: 0 } };
  Logger.overrideLogger(createLogger(config));
  const app = await createRegistry(config);
  try {
    await app.init();
    const report = await app.get(BlobCollector).collect({ dryRun });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await app.close();
  }
}

collect().catch(exitWithError);
