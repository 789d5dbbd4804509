import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ENTRY = resolve(__dirname, '../dist/apps/registry/src/main.js');

interface Started {
  process: ChildProcess;
  output: () => string;
  /** The exit code, or the signal's name when Nest re-raises SIGTERM after its shutdown hooks ran. */
  exited: Promise<number | string | null>;
}

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [ENTRY], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { process: child, output: () => output, exited: new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal))) };
}

async function waitForHealth(url: string, server: Started): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (server.process.exitCode !== null) throw new Error(`server exited: ${server.output()}`);
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server never became healthy: ${server.output()}`);
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

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
