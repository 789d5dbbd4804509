import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_ENTRY as ENTRY, freePort, startServerProcess as start, waitForHealth } from './support/server-process';

/** The built server exactly as `npm start` runs it: no configuration but where to listen and keep data. */
describe('the registry process (npm start)', () => {
  let dataDir: string;

  beforeAll(async () => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run "npm run build" first (npm test does)`);
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-process-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('prints an admin token once, keeps it private, shuts down cleanly and keeps its data across a restart', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir };

    const first = start(env);
    await waitForHealth(url, first);
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    expect(first.output()).toContain(token);
    expect((await stat(join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    expect((await fetch(`${url}/v1/models`, { method: 'POST', headers, body: JSON.stringify({ name: 'survivor' }) })).status).toBe(201);
    expect(first.output()).toMatch(/"context":"HTTP"/);

    first.process.kill('SIGTERM');
    expect(await first.exited).toBe('SIGTERM');
    // The lock goes only after the embedded database closed cleanly.
    expect(existsSync(join(dataDir, 'pg.lock'))).toBe(false);

    const second = start(env);
    await waitForHealth(url, second);
    expect(second.output()).not.toContain(token);
    const model = await fetch(`${url}/v1/models/survivor`, { headers });
    expect(model.status).toBe(200);
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe('SIGTERM');
  });

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const failed = start({ PORT: 'eighty', S3_ENDPOINT: 'http://minio:9000', DATA_DIR: dataDir });
    expect(await failed.exited).toBe(1);
    expect(failed.output()).toContain('PORT');
    expect(failed.output()).toContain('S3_BUCKET is required when S3_ENDPOINT is set');
  });
});
