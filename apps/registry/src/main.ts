import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@gatehouse/config';
import { FileProblemsError } from '@gatehouse/errors';
import { S3CredentialsMissingError, S3UnreachableError } from '@gatehouse/storage';
import { createRegistry } from './create-registry';

/** What an operator fixes in the environment or a policy file: its message alone says what to do, a stack would bury it. */
const OPERATOR_ERRORS = [ConfigError, FileProblemsError, S3CredentialsMissingError, S3UnreachableError];

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

main().catch((error: unknown) => {
  const known = OPERATOR_ERRORS.some((kind) => error instanceof kind);
  process.stderr.write(`${known ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
