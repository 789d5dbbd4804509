import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { scripts } from '../../package.json';

/** The built server, as `npm start` runs it. */
export const SERVER_ENTRY = resolve(__dirname, '../../dist/apps/registry/src/main.js');
/** The node flags of package.json's start script, between `node` and the entry. */
export const START_NODE_ARGS = scripts.start.split(/\s+/).slice(1, -1);

export interface ServerProcess {
  process: ChildProcess;
  /** stdout and stderr as they interleaved. */
  output: () => string;
  stdout: () => string;
  stderr: () => string;
  /** The exit code, or the signal's name when Nest re-raises SIGTERM after its shutdown hooks ran. */
  exited: Promise<number | string | null>;
}

/** `cwd` is where a relative DATA_DIR (default ./data) lands. */
export function startServerProcess(env: Record<string, string>, cwd?: string): ServerProcess {
  const child = spawn(process.execPath, [...START_NODE_ARGS, SERVER_ENTRY], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const streams = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr'] as const) {
    child[name].on('data', (chunk: Buffer) => {
      output += chunk.toString();
      streams[name] += chunk.toString();
    });
  }
  return {
    process: child,
    output: () => output,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    exited: new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal))),
  };
}

/** Polls /health until it answers; `server` is what is starting it, whose exit ends the wait with its output. */
export async function waitForHealth(url: string, server: Pick<ServerProcess, 'process' | 'output'>): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (server.process.exitCode !== null) throw new Error(`server exited: ${server.output()}`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server never became healthy: ${server.output()}`);
}

export function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}
