import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

/**
 * `--quick`: small sizes and one round, to show that the benchmark still runs
 * end to end (npm test runs every benchmark so), not to measure. Its figures
 * are printed as in full mode but mean little.
 */
export const QUICK = process.argv.includes('--quick');

export interface BenchRun {
  /** A fresh directory under BENCH_DIR (os.tmpdir() by default), removed when the run ends. */
  dir: string;
  /** Something to release when the run ends, however it ends (stop a process); newest first, before `dir` goes. */
  onEnd: (release: () => unknown) => void;
}

/**
 * Runs one benchmark. Whether it succeeds, fails (the stack on stderr, exit
 * code 1) or is interrupted (SIGINT, SIGTERM: exit code 130, 143), what it
 * registered with `onEnd` is released and its directory removed, so a broken
 * or cancelled run leaves neither processes nor files behind.
 */
export function runBench(name: string, work: (run: BenchRun) => Promise<void>): void {
  const releases: (() => unknown)[] = [];
  let ending: Promise<void> | undefined;
  const end = () =>
    (ending ??= (async () => {
      for (const release of releases.reverse()) {
        await Promise.resolve()
          .then(release)
          .catch((error: unknown) => {
            process.stderr.write(`bench:${name} could not clean up: ${inspect(error)}\n`);
            process.exitCode = 1;
          });
      }
    })());
  let interrupted = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      interrupted = true;
      void end().finally(() => process.exit(code));
    });
  }
  void (async () => {
    try {
      const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), `gatehouse-bench-${name}-`));
      releases.push(() => rm(dir, { recursive: true, force: true }));
      await work({ dir, onEnd: (release) => releases.push(release) });
    } catch (error) {
      // Interrupted runs fail as their processes are stopped under them: that is not news.
      if (interrupted) return;
      // inspect() prints the stack and the error's cause.
      process.stderr.write(`bench:${name} failed: ${inspect(error)}\n`);
      process.exitCode = 1;
    } finally {
      await end();
    }
  })();
}
