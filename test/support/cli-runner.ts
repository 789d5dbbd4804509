import { PassThrough } from 'node:stream';
import { runCli } from '../../apps/cli/src/cli';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI invocation in-process, capturing what it prints. */
export async function runCaptured(argv: string[], env: Record<string, string>, cwd: string): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(argv, { stdout, stderr, env, cwd });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
