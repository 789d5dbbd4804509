import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { loadConfig, type AppConfig } from '@gatehouse/config';
import { createRegistry } from '../../apps/registry/src/create-registry';
import { ApiClient } from './api-client';
import { createTestDatabase, type TestDatabase } from './postgres';
import { startS3Server, type TestS3Server } from './s3-server';

/** Which storage the registry under test runs on. */
export type Backend = 'embedded' | 'postgres+s3';

export interface TestRegistry {
  backend: Backend;
  url: string;
  config: AppConfig;
  adminToken: string;
  /** A client holding the admin token. */
  admin: ApiClient;
  /** A client holding no token. */
  anonymous: ApiClient;
  s3?: TestS3Server;
  database?: TestDatabase;
  /** Runs SQL on the registry's own database, bypassing the API: for tampering tests. */
  sql<T = any>(query: string, parameters?: unknown[]): Promise<T[]>;
  /** Stops and starts the server on the same database and blobs. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Settings for suites about promotion itself, which move versions to
 * production without serving them as canaries first: a monitoring policy
 * that analyses no canaries, so the production gate's canary_analysis skips.
 */
export const WITHOUT_CANARY_ANALYSIS = { MONITORING_POLICY: resolve(__dirname, '../fixtures/monitoring-without-analysis.json') };

export async function startRegistry(backend: Backend, env: Record<string, string> = {}): Promise<TestRegistry> {
  const adminToken = `gh_test_${randomBytes(24).toString('hex')}`;
  const database = backend === 'postgres+s3' ? await createTestDatabase() : undefined;
  const s3 = backend === 'postgres+s3' ? await startS3Server() : undefined;
  return launch(
    backend,
    adminToken,
    {
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...(s3
        ? {
            S3_BUCKET: `gatehouse-test-${randomBytes(4).toString('hex')}`,
            S3_ENDPOINT: s3.endpoint,
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          }
        : {}),
      ...env,
    },
    { database, s3 },
  );
}

/**
 * A second server on the same Postgres and bucket, as another replica behind
 * a load balancer would be. Closing it leaves the shared database and bucket
 * to the primary. Undefined when the primary fell back to embedded PGlite,
 * which one process owns.
 */
export async function startReplica(primary: TestRegistry, env: Record<string, string> = {}): Promise<TestRegistry | undefined> {
  if (primary.config.database.kind !== 'postgres') return undefined;
  const store = primary.config.blobStore;
  return launch(
    primary.backend,
    primary.adminToken,
    {
      DATABASE_URL: primary.config.database.url,
      ...(store.kind === 's3'
        ? {
            S3_BUCKET: store.bucket,
            S3_ENDPOINT: store.endpoint!,
            AWS_ACCESS_KEY_ID: store.credentials!.accessKeyId,
            AWS_SECRET_ACCESS_KEY: store.credentials!.secretAccessKey,
          }
        : {}),
      ...env,
    },
    {},
  );
}

async function launch(backend: Backend, adminToken: string, env: Record<string, string>, owned: { database?: TestDatabase; s3?: TestS3Server }): Promise<TestRegistry> {
  const { database, s3 } = owned;
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    GATEHOUSE_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    LOG_FORMAT: 'text',
    // Gates run only in the suites about them: elsewhere a background run would race the assertions.
    GATE_WORKERS: '0',
    ...env,
  });

  let app: INestApplication | undefined;
  const registry: TestRegistry = {
    backend,
    url: '',
    config,
    adminToken,
    admin: new ApiClient('', adminToken),
    anonymous: new ApiClient(''),
    s3,
    database,
    sql: (query, parameters) => app!.get(DataSource).query(query, parameters),
    async restart() {
      await app?.close();
      await boot();
    },
    async close() {
      await app?.close();
      await s3?.stop();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  const boot = async () => {
    app = await createRegistry(config);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    registry.url = `http://127.0.0.1:${port}`;
    registry.admin = new ApiClient(registry.url, adminToken);
    registry.anonymous = new ApiClient(registry.url);
  };
  try {
    await boot();
  } catch (error) {
    await registry.close();
    throw error;
  }
  return registry;
}
