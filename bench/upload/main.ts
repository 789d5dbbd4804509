/**
 * Upload benchmark: registers one large file through the HTTP API (embedded
 * database, filesystem blobs) and, in the same run, the raw baseline of
 * reading the same file, hashing it with SHA-256 and writing it to the same
 * disk. Prints both throughputs, their ratio and the server's peak RSS.
 * Exits 0 whether or not the targets are met, 1 if something broke.
 *
 *   npm run bench:upload                                # 1 GiB under os.tmpdir()
 *   BENCH_SIZE_MB=64 BENCH_DIR=/mnt/disk npm run bench:upload
 *   BENCH_SERVER_NODE_ARGS=--min-semi-space-size=16 npm run bench:upload   # flags for the server's node
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { childPid, freePort, memoryMib, RegistryProcess, SERVER_NODE_ARGS } from '../support/registry-process';
import { timed } from '../support/measure';

const MIB = 1024 * 1024;
const SIZE = sizeFromEnv();
const ROUNDS = 2;
const TARGET_RATIO = 0.8;
const TARGET_PEAK_RSS_MIB = 200;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'gatehouse-bench-'));
  let registry: RegistryProcess | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await registry?.stop();
      await rm(dir, { recursive: true, force: true });
    })());
  let interrupted = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      interrupted = true;
      void cleanUp().finally(() => process.exit(code));
    });
  }

  try {
    const input = join(dir, 'model.bin');
    await writeRandomFile(input, SIZE);
    // Assigned before waiting for it, so that an interrupt during start-up still stops it.
    const server = (registry = RegistryProcess.spawn({ dataDir: join(dir, 'data'), port: await freePort(), nodeArgs: SERVER_NODE_ARGS }));
    await server.waitForHealth();
    const idleRssMib = await memoryMib(server.pid, 'VmRSS');
    await server.json('POST', '/v1/models', { name: 'bench' });
    // A small upload first, so that the measured ones run JIT-compiled code.
    const warmUp = join(dir, 'warm-up.bin');
    await writeRandomFile(warmUp, 16 * MIB);
    await server.json('POST', '/v1/models/bench/versions', { version: '0.0.1', task: 'other' });
    await server.putFile('/v1/models/bench/versions/0.0.1/files/warm-up.bin', warmUp);

    const baselineSeconds: number[] = [];
    const uploadSeconds: number[] = [];
    const declaredUploadSeconds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const copy = join(dir, 'baseline-copy.bin');
      const baseline = await timed(() => hashAndCopy(input, copy));
      baselineSeconds.push(baseline.seconds);
      await rm(copy);

      const files = `/v1/models/bench/versions/1.0.${round}/files`;
      await server.json('POST', '/v1/models/bench/versions', { version: `1.0.${round}`, task: 'other' });
      const plain = await timed(() => server.putFile(`${files}/model.bin`, input));
      // The declared digest only adds a comparison at the end; measured to show it costs nothing.
      const declared = await timed(() => server.putFile(`${files}/declared.bin`, input, baseline.result));
      for (const { result } of [plain, declared]) {
        if (result.sha256 !== baseline.result || result.size !== SIZE) {
          throw new Error(`server stored ${result.size} bytes with SHA-256 ${result.sha256}, expected ${SIZE} bytes with ${baseline.result}`);
        }
      }
      uploadSeconds.push(plain.seconds);
      declaredUploadSeconds.push(declared.seconds);
      await server.json('POST', `/v1/models/bench/versions/1.0.${round}/commit`, {});
    }

    const databasePid = await childPid(server.pid);
    report({
      baselineMibps: SIZE / MIB / Math.min(...baselineSeconds),
      uploadMibps: SIZE / MIB / Math.min(...uploadSeconds),
      declaredUploadMibps: SIZE / MIB / Math.min(...declaredUploadSeconds),
      idleRssMib,
      peakRssMib: await memoryMib(server.pid, 'VmHWM'),
      databasePeakRssMib: databasePid === undefined ? null : await memoryMib(databasePid, 'VmHWM'),
    });
  } catch (error) {
    if (interrupted) return;
    const death = registry?.exitStatus ? ` (the server exited: ${registry.exitStatus})` : '';
    process.stderr.write(`bench:upload failed${death}: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

function sizeFromEnv(): number {
  const mib = Number(process.env.BENCH_SIZE_MB ?? 1024);
  if (!Number.isInteger(mib) || mib <= 0) throw new Error(`BENCH_SIZE_MB must be a positive integer, got ${process.env.BENCH_SIZE_MB}`);
  return mib * MIB;
}

/** Random bytes in 8 MiB chunks, synced so that writing back the input does not slow the first measurement. */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size; written += 8 * MIB) await handle.write(randomBytes(Math.min(8 * MIB, size - written)));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The baseline: what any upload must at least do — read, hash, write, make durable. Returns the SHA-256. */
async function hashAndCopy(from: string, to: string): Promise<string> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // The filesystem blob store's write buffering and fsync-before-close, so the baseline is not handicapped against it.
  await pipeline(createReadStream(from), hashing, createWriteStream(to, { highWaterMark: 4 * MIB, flush: true }));
  return hash.digest('hex');
}

interface Figures {
  baselineMibps: number;
  uploadMibps: number;
  declaredUploadMibps: number;
  idleRssMib: number;
  peakRssMib: number;
  databasePeakRssMib: number | null;
}

function report(figures: Figures): void {
  const ratio = figures.uploadMibps / figures.baselineMibps;
  const ratioMet = ratio >= TARGET_RATIO;
  const rssMet = figures.peakRssMib < TARGET_PEAK_RSS_MIB;
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  const rows: [string, string][] = [
    ['bytes', `${SIZE} (${SIZE / MIB} MiB, warm page cache, best of ${ROUNDS} alternating rounds)`],
    ['baseline read+sha256+write+fsync', `${figures.baselineMibps.toFixed(0)} MiB/s`],
    ['upload through the API', `${figures.uploadMibps.toFixed(0)} MiB/s`],
    ['  same, with x-content-sha256', `${figures.declaredUploadMibps.toFixed(0)} MiB/s (not in the ratio)`],
    ['ratio upload / baseline', `${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${verdict(ratioMet)})`],
    ['server node flags', SERVER_NODE_ARGS.join(' ') || '(none)'],
    ['server RSS idle', `${figures.idleRssMib.toFixed(0)} MiB`],
    ['server peak RSS', `${figures.peakRssMib.toFixed(0)} MiB (target < ${TARGET_PEAK_RSS_MIB}: ${verdict(rssMet)})`],
    ['embedded database peak RSS', figures.databasePeakRssMib === null ? 'n/a' : `${figures.databasePeakRssMib.toFixed(0)} MiB (separate process, not in the target)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'upload', bytes: SIZE, rounds: ROUNDS, serverNodeArgs: SERVER_NODE_ARGS, ...figures, ratio, ratioMet, rssMet })}\n`);
}

void main();
