import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from '@gatehouse/config';
import { createRegistry } from './create-registry';
import { exitWithError } from './fatal-error';

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig(process.env);
  const app = await createRegistry(config);
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  new Logger('Registry').log(
    `listening on http://${config.host}:${config.port} (database: ${config.database.kind}, blobs: ${config.blobStore.kind}), started in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main().catch(exitWithError);
