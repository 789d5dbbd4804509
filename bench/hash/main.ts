/**
 * Hash benchmark: SHA-256 of one large file with the project's streaming
 * digest (the code every upload and download runs through) and with
 * coreutils' sha256sum, in the same run on the same warm page cache.
 *
 *   npm run bench:hash                   # 1 GiB
 *   BENCH_SIZE_MB=256 npm run bench:hash
 *   node dist/bench/hash/main.js --quick  # 32 MiB, one round: does it still run?
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestStream } from '@gatehouse/storage';
import { QUICK, runBench, type BenchRun } from '../support/bench-run';
import { sha256sum, timed } from '../support/measure';

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_SIZE_MB ?? (QUICK ? 32 : 1024)) * MIB;
const ROUNDS = QUICK ? 1 : 3;
const TARGET_RATIO = 0.9;

async function main({ dir }: BenchRun): Promise<void> {
  const file = join(dir, 'model.bin');
  await writeRandomFile(file, SIZE);
  const ours: number[] = [];
  const coreutils: number[] = [];
  let digests: [string, string] = ['', ''];
  for (let round = 0; round < ROUNDS; round++) {
    const mine = await timed(() => digestFile(file));
    const theirs = await timed(() => sha256sum(file));
    ours.push(mine.seconds);
    coreutils.push(theirs.seconds);
    digests = [mine.result, theirs.result];
  }
  if (digests[0] !== digests[1]) throw new Error(`digests differ: ${digests[0]} vs ${digests[1]}`);
  const oursMbps = SIZE / MIB / Math.min(...ours);
  const sha256sumMbps = SIZE / MIB / Math.min(...coreutils);
  const ratio = oursMbps / sha256sumMbps;
  process.stdout.write(
    [
      `file size                         ${(SIZE / MIB).toFixed(0)} MiB (warm page cache)`,
      `DigestStream (best of ${ROUNDS})          ${oursMbps.toFixed(0)} MiB/s`,
      `sha256sum (best of ${ROUNDS})             ${sha256sumMbps.toFixed(0)} MiB/s`,
      `ratio DigestStream / sha256sum    ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'})`,
      JSON.stringify({ bench: 'hash', bytes: SIZE, oursMbps, sha256sumMbps, ratio }),
    ].join('\n') + '\n',
  );
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < size; written += 8 * MIB) await handle.write(randomBytes(Math.min(8 * MIB, size - written)));
  } finally {
    await handle.close();
  }
}

/** Reads with the same 1 MiB chunks the blob stores use. */
async function digestFile(path: string): Promise<string> {
  const digest = new DigestStream();
  await pipeline(createReadStream(path, { highWaterMark: MIB }), digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return digest.sha256;
}

runBench('hash', main);
