import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { scripts } from '../package.json';

const ROOT = resolve(__dirname, '..');
const BENCHMARKS = ['hash', 'gate', 'resolve', 'scan', 'upload', 'regression-noise', 'canary-judge', 'telemetry'];
/** Under the test's own timeout, so that a hung benchmark fails with its output, not with jest's bare timeout. */
const RUN_TIMEOUT_MS = 150_000;

/** `bench:<name>` is `npm run build && node <flags> dist/bench/<name>/main.js`: the flags and script after `node`. */
function benchArguments(name: string): string[] {
  const script: string | undefined = (scripts as Record<string, string>)[`bench:${name}`];
  const command = /(?:^|&&\s*)node\s+(.+)$/.exec(script ?? '')?.[1];
  if (!command) throw new Error(`package.json has no "bench:${name}" script ending in a node command: ${script}`);
  return command.trim().split(/\s+/);
}

/** Runs with the caller's environment minus BENCH_* settings, so that quick mode's own sizes apply. */
function runQuick(args: string[]): Promise<{ status: number | string; stdout: string; output: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BENCH_')));
  const child = spawn(process.execPath, [...args, '--quick'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => ((stdout += chunk), (output += chunk)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // SIGTERM lets the benchmark stop its processes and remove its files; SIGKILL only if that hangs.
  const stop = setTimeout(() => {
    output += `\n[killed after ${RUN_TIMEOUT_MS / 1000} s]\n`;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  }, RUN_TIMEOUT_MS);
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code, signal) => {
      clearTimeout(stop);
      done({ status: signal ?? code ?? 'unknown', stdout, output });
    });
  });
}

/** Every benchmark, small and once, from the build: one that no longer runs fails here rather than rotting. */
describe('benchmarks (--quick, from dist)', () => {
  it.each(BENCHMARKS)(
    'bench:%s runs to the end and prints its figures',
    async (name) => {
      const args = benchArguments(name);
      const entry = resolve(ROOT, args[args.length - 1]);
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does)`);

      const { status, stdout, output } = await runQuick(args);
      if (status !== 0) throw new Error(`bench:${name} --quick exited with ${status}:\n${output}`);
      // Every benchmark ends with its figures as one JSON line.
      expect(stdout).toContain(`{"bench":"${name}"`);
    },
    RUN_TIMEOUT_MS + 30_000,
  );
});
