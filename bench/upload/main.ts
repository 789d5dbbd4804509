/**
 * Upload benchmark: registers one large file through the HTTP API (embedded
 * database, filesystem blobs) and, alternating in the same rounds, the raw
 * baseline of reading the same file, hashing it with SHA-256 and writing it
 * to the same disk with the filesystem store's write policy. Prints both
 * throughputs, the median of the rounds' ratios and the server's peak RSS
 * against their targets. Exits 0 whether or not the targets are met, 1 if
 * something broke.
 *
 *   npm run bench:upload                                  # 1 GiB under os.tmpdir(), 5 rounds
 *   BENCH_SIZE_MB=64 BENCH_DIR=/mnt/disk npm run bench:upload
 *   BENCH_SERVER_NODE_ARGS=--trace-gc npm run bench:upload  # flags for the server's node
 *   node dist/bench/upload/main.js --quick                # 16 MiB, one round: does it still run?
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { contentKey, WRITEBACK_INTERVAL_BYTES } from '@gatehouse/storage';
import { QUICK, runBench, type BenchRun } from '../support/bench-run';
import { median, sha256sum, timed } from '../support/measure';
import { forEachChunk } from '../support/file-chunks';
import { childPid, freePort, memoryMib, RegistryProcess, SERVER_NODE_ARGS } from '../support/registry-process';

const MIB = 1024 * 1024;
const SIZE = sizeFromEnv();
const ROUNDS = QUICK ? 1 : 5;
const TARGET_RATIO = 0.9;
const TARGET_PEAK_RSS_MIB = 200;

async function main({ dir, onEnd }: BenchRun): Promise<void> {
  const input = join(dir, 'model.bin');
  await writeRandomFile(input, SIZE);
  const dataDir = join(dir, 'data');
  // Where the server keeps filesystem blobs under its data directory.
  const blobRoot = join(dataDir, 'blobs');
  const server = RegistryProcess.spawn({ dataDir, port: await freePort(), nodeArgs: SERVER_NODE_ARGS });
  onEnd(() => server.stop());
  try {
    await server.waitForHealth();
    const idleRssMib = await memoryMib(server.pid, 'VmRSS');
    await server.json('POST', '/v1/models', { name: 'bench' });
    // A small upload first, so that the measured ones run JIT-compiled code.
    const warmUp = join(dir, 'warm-up.bin');
    await writeRandomFile(warmUp, 16 * MIB);
    await server.json('POST', '/v1/models/bench/versions', { version: '0.0.1', task: 'other' });
    await server.putFile('/v1/models/bench/versions/0.0.1/files/warm-up.bin', warmUp);

    const measureBaseline = async () => {
      const copy = join(dir, 'baseline-copy.bin');
      const baseline = await timed(() => hashAndCopy(input, copy));
      await removeDurably(copy);
      return baseline;
    };
    // What one measurement wrote is gone before the next starts, the upload's blob as the baseline's copy: on the VM
    // this was measured on, writing after 1 GiB of kept writes took twice the time and five times the system CPU.
    const measureUpload = async (url: string, declaredSha256?: string) => {
      const upload = await timed(() => server.putFile(url, input, declaredSha256));
      await removeDurably(join(blobRoot, contentKey(upload.result.sha256)));
      return upload;
    };

    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Versions stay uncommitted: a commit queues a registration gate, whose work would overlap the next rounds.
      const files = `/v1/models/bench/versions/1.0.${round}/files`;
      await server.json('POST', '/v1/models/bench/versions', { version: `1.0.${round}`, task: 'other' });

      // New bytes before every upload, as a new model's files are: each one is stored, none found already there.
      // Baseline, upload, upload, baseline: whatever the machine does to the first of two writes in a row (writeback
      // from the one before, pages coming back from the host) falls on both sides alike.
      await freshContent(input);
      const firstBaseline = await measureBaseline();
      const firstUpload = await measureUpload(`${files}/model.bin`);
      assertStored(firstUpload.result, firstBaseline.result);
      await freshContent(input);
      const secondUpload = await measureUpload(`${files}/model-2.bin`);
      const secondBaseline = await measureBaseline();
      assertStored(secondUpload.result, secondBaseline.result);

      // The declared digest only adds a comparison at the end; measured to show it costs nothing.
      await freshContent(input);
      const declaredSha256 = await sha256sum(input);
      const declared = await measureUpload(`${files}/declared.bin`, declaredSha256);
      assertStored(declared.result, declaredSha256);

      rounds.push({
        baselineSeconds: (firstBaseline.seconds + secondBaseline.seconds) / 2,
        uploadSeconds: (firstUpload.seconds + secondUpload.seconds) / 2,
        declaredUploadSeconds: declared.seconds,
      });
    }

    const databasePid = await childPid(server.pid);
    report({
      rounds,
      idleRssMib,
      peakRssMib: await memoryMib(server.pid, 'VmHWM'),
      databasePeakRssMib: databasePid === undefined ? null : await memoryMib(databasePid, 'VmHWM'),
    });
  } catch (error) {
    throw server.exitStatus ? new Error(`the server exited: ${server.exitStatus}`, { cause: error }) : error;
  }
}

/** Seconds per run: the mean of a round's two baselines and two uploads, its one upload with a declared digest. */
interface Round {
  baselineSeconds: number;
  uploadSeconds: number;
  declaredUploadSeconds: number;
}

function sizeFromEnv(): number {
  const mib = Number(process.env.BENCH_SIZE_MB ?? (QUICK ? 16 : 1024));
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

/** Rewrites the file's first bytes in place: new content, still in the page cache. */
async function freshContent(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(randomBytes(64), 0, 64, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes a file and fsyncs its directory, so that the removal is committed
 * (and on a discard mount, its blocks discarded) before the next measurement
 * rather than during it.
 */
async function removeDurably(path: string): Promise<void> {
  await rm(path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/**
 * The baseline: what any upload must at least do — read, hash, write, make
 * durable — with no HTTP and no framework. It reads as the client does and
 * writes with the filesystem store's policy (a datasync starting writeback
 * every WRITEBACK_INTERVAL_BYTES, fsync before close), so neither side is
 * handicapped against the other. Each chunk is hashed while it is written and
 * the next one read. Returns the SHA-256.
 */
async function hashAndCopy(from: string, to: string): Promise<string> {
  const hash = createHash('sha256');
  const output = await open(to, 'w');
  try {
    let unsynced = 0;
    // Left set if it fails, so that the wait before the last fsync throws.
    let writeback: Promise<void> | undefined;
    const write = async (chunk: Buffer) => {
      const { bytesWritten } = await output.write(chunk);
      unsynced += bytesWritten;
      if (unsynced < WRITEBACK_INTERVAL_BYTES || writeback) return;
      unsynced = 0;
      writeback = output.datasync().then(() => void (writeback = undefined));
      writeback.catch(() => undefined);
    };
    await forEachChunk(from, async (chunk) => {
      const written = write(chunk);
      hash.update(chunk);
      await written;
    });
    await writeback;
    await output.sync();
  } finally {
    await output.close();
  }
  return hash.digest('hex');
}

function assertStored(stored: { sha256: string; size: number }, sha256: string): void {
  if (stored.sha256 !== sha256 || stored.size !== SIZE) {
    throw new Error(`server stored ${stored.size} bytes with SHA-256 ${stored.sha256}, expected ${SIZE} bytes with ${sha256}`);
  }
}

interface Figures {
  rounds: Round[];
  idleRssMib: number;
  peakRssMib: number;
  databasePeakRssMib: number | null;
}

function report({ rounds, idleRssMib, peakRssMib, databasePeakRssMib }: Figures): void {
  const mibps = (seconds: number) => SIZE / MIB / seconds;
  // Each round's ratio compares uploads with baselines run beside them, so a burst of load elsewhere on the machine moves one round, not the verdict.
  const ratios = rounds.map((round) => round.baselineSeconds / round.uploadSeconds);
  const ratio = median(ratios);
  const baselineMibps = mibps(median(rounds.map((round) => round.baselineSeconds)));
  const uploadMibps = mibps(median(rounds.map((round) => round.uploadSeconds)));
  const declaredUploadMibps = mibps(median(rounds.map((round) => round.declaredUploadSeconds)));
  const ratioMet = ratio >= TARGET_RATIO;
  const rssMet = peakRssMib < TARGET_PEAK_RSS_MIB;
  // Quick mode shows the benchmark still runs; its figures are too small to judge.
  const verdict = (met: boolean) => (QUICK ? 'not judged in quick mode' : met ? 'met' : 'MISSED');
  const rows: [string, string][] = [
    ['bytes', `${SIZE} (${SIZE / MIB} MiB, warm page cache, new content per upload, ${ROUNDS === 1 ? 'one round' : `${ROUNDS} rounds`} of baseline, upload, upload, baseline)`],
    ['baseline read+sha256+write+fsync', `${baselineMibps.toFixed(0)} MiB/s (median)`],
    ['upload through the API', `${uploadMibps.toFixed(0)} MiB/s (median)`],
    ['  same, with x-content-sha256', `${declaredUploadMibps.toFixed(0)} MiB/s (median, not in the ratio)`],
    ['ratio upload / baseline per round', ratios.map((value) => value.toFixed(2)).join(' ')],
    [`ratio, median of ${ROUNDS}`, `${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${verdict(ratioMet)})`],
    ['server node flags', SERVER_NODE_ARGS.join(' ') || '(none)'],
    ['server RSS idle', `${idleRssMib.toFixed(0)} MiB`],
    ['server peak RSS', `${peakRssMib.toFixed(0)} MiB (target < ${TARGET_PEAK_RSS_MIB}: ${verdict(rssMet)})`],
    ['embedded database peak RSS', databasePeakRssMib === null ? 'n/a' : `${databasePeakRssMib.toFixed(0)} MiB (separate process, not in the target)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'upload',
      quick: QUICK,
      bytes: SIZE,
      rounds: ROUNDS,
      serverNodeArgs: SERVER_NODE_ARGS,
      baselineMibps,
      uploadMibps,
      declaredUploadMibps,
      ratios,
      ratio,
      idleRssMib,
      peakRssMib,
      databasePeakRssMib,
      ratioMet,
      rssMet,
    })}\n`,
  );
}

runBench('upload', main);
