import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The raw baseline benches compare with: coreutils hashing the same file, in the same run. */
export async function sha256sum(path: string): Promise<string> {
  const { stdout } = await promisify(execFile)('sha256sum', [path]);
  return stdout.split(' ')[0];
}

export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
