import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_ENTRY as ENTRY, freePort, startServerProcess, waitForHealth, type ServerProcess } from './support/server-process';
import { startS3Server, type TestS3Server } from './support/s3-server';

/** No credential source of the SDK's chain reachable from the test's machine: no files, no instance metadata. */
const WITHOUT_AWS_CREDENTIALS = { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };

/** Started by the current test; killed after it, so that a failed expectation leaves no server holding the data directory. */
const running: ServerProcess[] = [];
const start = (env: Record<string, string>) => {
  const server = startServerProcess(env);
  running.push(server);
  return server;
};
afterEach(() => {
  for (const server of running.splice(0)) if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
});

const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

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
    expect((await stat(join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    expect((await fetch(`${url}/v1/models`, { method: 'POST', headers, body: JSON.stringify({ name: 'survivor' }) })).status).toBe(201);

    first.process.kill('SIGTERM');
    expect(await first.exited).toBe('SIGTERM');
    // The lock goes only after the embedded database closed cleanly.
    expect(existsSync(join(dataDir, 'pg.lock'))).toBe(false);

    // Read once it exited, so that every line is there. stdout holds the banner alone; the logs are JSON lines
    // on stderr, which is not a terminal here.
    expect(first.stdout().trim()).toMatch(new RegExp(`^=+\\n  Gatehouse admin token, shown this once \\(saved to ${dataDir}/admin-token, mode 0600\\):\\n\\n    ${token}\\n=+$`));
    const logged = lines(first.stderr()).map((line) => JSON.parse(line) as { message: unknown; context: string });
    expect(first.stderr()).not.toContain(token);
    const messages = logged.map(({ message }) => message).filter((message) => typeof message === 'string');
    const initialising = messages.findIndex((message) => message.startsWith(`initialising the embedded database (first start, in ${join(dataDir, 'pg')}`));
    const initialised = messages.findIndex((message) => /^embedded database initialised in \d+\.\d s$/.test(message));
    expect(initialising).toBeGreaterThanOrEqual(0);
    expect(initialised).toBeGreaterThan(initialising);
    expect(messages).toContainEqual(expect.stringMatching(/^applied \d+ migrations in \d+\.\d s: \S+ … \S+$/));
    expect(messages).toContainEqual(expect.stringMatching(`^listening on ${url} \\(database: embedded, blobs: filesystem\\), started in`));
    expect(logged).toContainEqual(expect.objectContaining({ context: 'HTTP', message: expect.objectContaining({ path: '/v1/models', status: 201 }) }));
    // Nest's line per module and per route is there at LOG_LEVEL=debug only.
    expect(logged.filter(({ context }) => context === 'RouterExplorer')).toEqual([]);

    const second = start(env);
    await waitForHealth(url, second);
    expect(second.output()).not.toContain(token);
    expect(second.stdout()).toBe('');
    expect(second.stderr()).not.toContain('initialising');
    expect(second.stderr()).not.toContain('applied');
    const model = await fetch(`${url}/v1/models/survivor`, { headers });
    expect(model.status).toBe(200);
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe('SIGTERM');
  });

  it('logs text lines with LOG_FORMAT=text, a request on one line', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = start({ HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, LOG_FORMAT: 'text' });
    await waitForHealth(url, server);
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe('SIGTERM');
    const logged = lines(server.stderr());
    for (const line of logged) expect(line).toMatch(/^\[Nest\] \d+ {2}- \S+, \S+ \S+ +(LOG|WARN|ERROR) \[\w+\] /);
    expect(logged).toContainEqual(expect.stringContaining(`LOG [Registry] listening on ${url}`));
    expect(logged).toContainEqual(expect.stringMatching(/LOG \[HTTP\] method=GET path=\/health status=200 durationMs=[\d.]+ completed=true/));
  });

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const failed = start({ PORT: 'eighty', S3_ENDPOINT: 'http://minio:9000', DATA_DIR: dataDir, LOG_FORMAT: 'yaml' });
    expect(await failed.exited).toBe(1);
    expect(failed.output()).toContain('PORT');
    expect(failed.output()).toContain('S3_BUCKET is required when S3_ENDPOINT is set');
    expect(failed.output()).toContain('LOG_FORMAT must be text or json');
  });

  describe('on S3', () => {
    let s3: TestS3Server;
    beforeAll(async () => (s3 = await startS3Server()));
    afterAll(() => s3.stop());

    it('without credentials, stops with one line naming the variables to set', async () => {
      const s3DataDir = await mkdtemp(join(tmpdir(), 'gatehouse-process-s3-'));
      try {
        const failed = start({ ...WITHOUT_AWS_CREDENTIALS, HOST: '127.0.0.1', PORT: String(await freePort()), DATA_DIR: s3DataDir, S3_BUCKET: 'models', S3_ENDPOINT: s3.endpoint });
        expect(await failed.exited).toBe(1);
        const last = lines(failed.stderr()).at(-1);
        expect(last).toBe(
          'S3_BUCKET=models needs S3 credentials and none were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
            '(or AWS_PROFILE, or run where an instance or container role provides them)',
        );
        expect(failed.output()).not.toMatch(/CredentialsProviderError|\n\s+at /);
        expect(existsSync(join(s3DataDir, 'pg.lock'))).toBe(false);
      } finally {
        await rm(s3DataDir, { recursive: true, force: true });
      }
    });

    it('with them, starts without a warning about the Node.js version', async () => {
      const s3DataDir = await mkdtemp(join(tmpdir(), 'gatehouse-process-s3-'));
      const port = await freePort();
      try {
        const server = start({
          ...WITHOUT_AWS_CREDENTIALS,
          HOST: '127.0.0.1',
          PORT: String(port),
          DATA_DIR: s3DataDir,
          S3_BUCKET: 'models',
          S3_ENDPOINT: s3.endpoint,
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        });
        await waitForHealth(`http://127.0.0.1:${port}`, server);
        server.process.kill('SIGTERM');
        expect(await server.exited).toBe('SIGTERM');
        expect(server.stderr()).toContain('blobs: s3');
        expect(server.output()).not.toMatch(/Warning|NodeVersionSupport/);
      } finally {
        await rm(s3DataDir, { recursive: true, force: true });
      }
    });
  });
});
