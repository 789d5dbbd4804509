/**
 * Upload benchmark: registers one large file through the HTTP API (embedded
 * database, filesystem blobs) and, in the same run, the raw baseline of
 * reading the file, hashing it with SHA-256 and writing it to the same disk.
 * Prints both throughputs, their ratio and the server's peak RSS.
 *
 *   npm run bench:upload                     # 1 GiB
 *   BENCH_SIZE_MB=256 npm run bench:upload
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_SIZE_MB ?? 1024) * MIB;
const ROUNDS = 3;
const TARGET_RATIO = 0.8;
const TARGET_RSS_MB = 200;
const ADMIN_TOKEN = `bench-${randomBytes(24).toString('hex')}`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'gatehouse-bench-'));
  let server: ChildProcess | undefined;
  const cleanUp = async () => {
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  try {
    const input = join(dir, 'model.bin');
    await writeRandomFile(input, SIZE);
    const port = await freePort();
    server = startServer(dir, port);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, server);
    const idleRssMb = await residentMb(server.pid!, 'VmRSS');
    await call(base, 'POST', '/v1/models', { name: 'bench' });
    // One small upload first, so the measured rounds run on warmed-up (JIT-compiled) code.
    const warmUp = join(dir, 'warm-up.bin');
    await writeRandomFile(warmUp, 16 * MIB);
    await call(base, 'POST', '/v1/models/bench/versions', { version: '0.0.1', task: 'other' });
    await putFile(`${base}/v1/models/bench/versions/0.0.1/files/warm-up.bin`, warmUp);

    const baseline: number[] = [];
    const upload: number[] = [];
    let digest = '';
    for (let round = 0; round < ROUNDS; round++) {
      const raw = await timed(() => hashAndCopy(input, join(dir, `copy-${round}.bin`)));
      digest = raw.result;
      baseline.push(raw.seconds);
      await rm(join(dir, `copy-${round}.bin`));

      const version = `1.0.${round}`;
      await call(base, 'POST', '/v1/models/bench/versions', { version, task: 'other' });
      const sent = await timed(() => putFile(`${base}/v1/models/bench/versions/${version}/files/model.bin`, input));
      if (sent.result.sha256 !== digest) throw new Error(`server digest ${sent.result.sha256} differs from ${digest}`);
      upload.push(sent.seconds);
      await call(base, 'POST', `/v1/models/bench/versions/${version}/commit`, {});
    }
    const peakRssMb = await residentMb(server.pid!, 'VmHWM');
    const databasePid = await childPid(server.pid!);
    const databaseRssMb = databasePid ? await residentMb(databasePid, 'VmHWM') : NaN;
    report(Math.min(...baseline), Math.min(...upload), idleRssMb, peakRssMb, databaseRssMb);
  } finally {
    await cleanUp();
  }
}

/** Random bytes written in 8 MiB chunks: the input never sits in memory whole. */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size; written += 8 * MIB) await handle.write(randomBytes(Math.min(8 * MIB, size - written)));
  } finally {
    await handle.close();
  }
}

/** The baseline: what any upload must at least do — read, hash, write, make durable. */
async function hashAndCopy(from: string, to: string): Promise<string> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // The same write buffering and fsync-before-close as the filesystem blob store, so neither side is handicapped.
  await pipeline(createReadStream(from), hashing, createWriteStream(to, { highWaterMark: 4 * MIB, flush: true }));
  return hash.digest('hex');
}

function startServer(dir: string, port: number): ChildProcess {
  const entry = resolve(__dirname, '../../apps/registry/src/main.js');
  return spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: join(dir, 'data'),
      GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** SIGTERM lets the server close its embedded database cleanly; SIGKILL only if it hangs. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolveExit) => server.once('exit', resolveExit));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitForHealth(base: string, server: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    const healthy = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (healthy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy within 60 s');
}

async function call(base: string, method: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

/** Streams the file with node:http, as a client uploading from disk would. */
async function putFile(url: string, path: string): Promise<{ sha256: string }> {
  const size = (await stat(path)).size;
  return new Promise((resolvePut, reject) => {
    const put = request(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'content-length': size },
    });
    put.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (response.statusCode !== 201) reject(new Error(`upload: ${response.statusCode} ${text}`));
        else resolvePut(JSON.parse(text) as { sha256: string });
      });
    });
    put.on('error', reject);
    createReadStream(path).pipe(put);
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function residentMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return kb / 1024;
}

/** The embedded database runs as the server's child process. */
async function childPid(pid: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const first = children.trim().split(/\s+/)[0];
  return first ? Number(first) : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
    probe.on('error', reject);
  });
}

function report(baselineSeconds: number, uploadSeconds: number, idleRssMb: number, peakRssMb: number, databaseRssMb: number): void {
  const baselineMbps = SIZE / MIB / baselineSeconds;
  const uploadMbps = SIZE / MIB / uploadSeconds;
  const ratio = uploadMbps / baselineMbps;
  const rows: [string, string][] = [
    ['file size', `${(SIZE / MIB).toFixed(0)} MiB`],
    [`baseline read+sha256+write (best of ${ROUNDS})`, `${baselineMbps.toFixed(0)} MiB/s`],
    [`upload through the API (best of ${ROUNDS})`, `${uploadMbps.toFixed(0)} MiB/s`],
    ['ratio upload / baseline', `${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'})`],
    ['server RSS idle', `${idleRssMb.toFixed(0)} MB`],
    ['server peak RSS', `${peakRssMb.toFixed(0)} MB (target < ${TARGET_RSS_MB}: ${peakRssMb < TARGET_RSS_MB ? 'met' : 'MISSED'})`],
    ['embedded database process peak RSS', `${databaseRssMb.toFixed(0)} MB (PGlite, a separate process)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ bench: 'upload', bytes: SIZE, baselineMbps, uploadMbps, ratio, idleRssMb, peakRssMb, databaseRssMb })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:upload failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
