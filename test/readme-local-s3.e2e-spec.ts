import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { readmeCommandBlocks } from './support/readme-commands';
import { freePort, SERVER_ENTRY, START_NODE_ARGS, waitForHealth } from './support/server-process';
import { until } from './support/wait';

const SECTION = 'A local S3-compatible server';
const README_PORT = '4568';
const REPO_BIN = resolve(__dirname, '../node_modules/.bin');

/**
 * The README's local S3 block, run as printed in a fresh directory (so `./s3`
 * and `./data` land there): s3rver in the background, then `npm start`
 * against it. `npm start` and `npx` are what they are in a checkout, as
 * shims: the built server with package.json's start flags, and the checkout's
 * own binaries. Only the ports change, to free ones.
 */
describe("the README's local S3 server", () => {
  let workDir: string;
  let shell: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-readme-s3-'));
    const bin = join(workDir, '.bin');
    await mkdir(bin);
    await writeShim(
      join(bin, 'npm'),
      `[ "$1" = start ] || { echo "this test's npm only starts the registry" >&2; exit 2; }\nexec "${process.execPath}" ${START_NODE_ARGS.join(' ')} "${SERVER_ENTRY}"`,
    );
    await writeShim(join(bin, 'npx'), `PATH="${REPO_BIN}${delimiter}$PATH" exec "$@"`);
  });
  afterAll(async () => {
    if (shell?.pid !== undefined && shell.exitCode === null) {
      const exited = new Promise((done) => shell!.once('exit', done));
      process.kill(-shell.pid, 'SIGTERM');
      await exited;
      // The shell goes first; the registry and s3rver it started may still be writing under workDir as they stop.
      await until(async () => (groupGone(shell!.pid!) ? true : undefined), 30_000);
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('starts the registry on s3rver with the credentials it names, and keeps uploads under ./s3', async () => {
    const blocks = readmeCommandBlocks(SECTION).filter((block) => block.info === 'sh');
    expect(blocks).toHaveLength(1);
    const [s3Port, registryPort] = [await freePort(), await freePort()];
    expect(blocks[0].code).toContain(README_PORT);
    const script = blocks[0].code.replaceAll(README_PORT, String(s3Port));
    await writeFile(join(workDir, 'local-s3.sh'), script);
    // Its own process group, so that stopping it stops s3rver in the background too.
    shell = spawn('bash', [join(workDir, 'local-s3.sh')], {
      cwd: workDir,
      detached: true,
      env: { PATH: [join(workDir, '.bin'), process.env.PATH ?? ''].join(delimiter), HOME: workDir, HOST: '127.0.0.1', PORT: String(registryPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    shell.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${registryPort}`;
    await waitForHealth(url, { process: shell, output: () => output });

    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok', blobStore: { kind: 's3', ok: true } });
    const token = (await readFile(join(workDir, 'data', 'admin-token'), 'utf8')).trim();
    const headers = { authorization: `Bearer ${token}` };
    const bytes = Buffer.from('label,amount\n1,12.5\n0,3.0\n');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const declared = await fetch(`${url}/v1/datasets`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'readme-s3', version: '1', sha256 }),
    });
    expect(declared.status).toBe(201);
    const uploaded = await fetch(`${url}/v1/datasets/readme-s3/1/file`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(uploaded.status).toBe(201);

    const stored = (await readdir(join(workDir, 's3', 'models'), { recursive: true })).filter((path) => path.includes(sha256));
    expect(stored.length).toBeGreaterThan(0);
  }, 180_000);
});

async function writeShim(path: string, body: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
}

/** Whether no process of the group led by `pid` is left. */
function groupGone(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
