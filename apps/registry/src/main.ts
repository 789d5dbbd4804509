import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@gatehouse/config';
import { GatePolicyError } from '@gatehouse/gate-engine';
import { PromotionPolicyError } from '@gatehouse/promotion';
import { createRegistry } from './create-registry';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createRegistry(config);
  await app.listen(config.port, config.host);
  new Logger('Registry').log(`listening on http://${config.host}:${config.port} (database: ${config.database.kind}, blobs: ${config.blobStore.kind})`);
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof GatePolicyError || error instanceof PromotionPolicyError;
  process.stderr.write(`${known ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
