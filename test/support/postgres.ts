import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh, uniquely named database on the test Postgres (TEST_DATABASE_URL or
 * 127.0.0.1:5432), or undefined when none is reachable and we are not in CI.
 */
export async function createTestDatabase(): Promise<TestDatabase | undefined> {
  const serverUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_SERVER_URL;
  const admin = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    if (process.env.CI) throw new Error(`CI needs Postgres at ${serverUrl}: ${(error as Error).message}`);
    process.stderr.write(`Postgres is not reachable at ${serverUrl} (${(error as Error).message}); running on embedded PGlite.\n`);
    return undefined;
  }
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new Client({ connectionString: serverUrl });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
