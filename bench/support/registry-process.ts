import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import { forEachChunk } from './file-chunks';

/** The node flags package.json's start script gives the server, so that benchmarks run it as `npm start` does. */
function startScriptNodeArgs(): string[] {
  const { scripts } = JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')) as { scripts: { start: string } };
  const args = /^node\s+(.+)$/.exec(scripts.start)?.[1].trim().split(/\s+/);
  if (!args) throw new Error(`package.json's start script is not a node command: ${scripts.start}`);
  return args.slice(0, -1);
}

/** Flags for the server's node: those `npm start` passes, then BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof`; a later V8 flag overrides an earlier one). */
export const SERVER_NODE_ARGS = [...startScriptNodeArgs(), ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];

export interface RegistryOptions {
  dataDir: string;
  port: number;
  /** Flags for the server's node, usually SERVER_NODE_ARGS. */
  nodeArgs?: string[];
  /** Settings beyond the data directory and port (GATE_POLICY, DATABASE_URL, …). */
  env?: Record<string, string>;
}

/** The built registry as a child process, with its own data directory, port and admin token. */
export class RegistryProcess {
  exitStatus?: string;
  readonly adminToken: string;

  private constructor(
    private readonly child: ChildProcess & { pid: number },
    readonly base: string,
    adminToken: string,
  ) {
    this.adminToken = adminToken;
    child.once('exit', (code, signal) => (this.exitStatus = signal ?? `code ${code}`));
  }

  static spawn(options: RegistryOptions): RegistryProcess {
    const adminToken = `bench-${randomBytes(24).toString('hex')}`;
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), resolve(__dirname, '../../apps/registry/src/main.js')], {
      // Only what the registry needs, so a DATABASE_URL or blob-store setting in the caller's shell cannot leak in.
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: String(options.port),
        DATA_DIR: options.dataDir,
        GATEHOUSE_ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (child.pid === undefined) throw new Error('could not start the registry');
    return new RegistryProcess(child as ChildProcess & { pid: number }, `http://127.0.0.1:${options.port}`, adminToken);
  }

  async waitForHealth(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.exitStatus !== undefined) throw new Error(`the registry exited while starting: ${this.exitStatus}`);
      if (
        await fetch(`${this.base}/health`).then(
          (response) => response.ok,
          () => false,
        )
      )
        return;
      await new Promise((wake) => setTimeout(wake, 100));
    }
    throw new Error('the registry did not become healthy within 60 s');
  }

  get pid(): number {
    return this.child.pid;
  }

  /** A JSON request as `token` (the admin's by default); throws on any status but 2xx. */
  async json<T = unknown>(method: string, path: string, body?: unknown, token = this.adminToken): Promise<T> {
    const response = await fetch(this.base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Streams the file with node:http, read in the CLI's 1 MiB chunks, as a client uploading from disk would. */
  async putFile(path: string, file: string, sha256?: string): Promise<{ sha256: string; size: number }> {
    const { size } = await stat(file);
    const put = request(this.base + path, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        'content-type': 'application/octet-stream',
        'content-length': size,
        ...(sha256 && { 'x-content-sha256': sha256 }),
      },
    });
    const send = (chunk: Buffer) => new Promise<void>((sent, failed) => put.write(chunk, (error) => (error ? failed(error) : sent())));
    const sendAll = async () => {
      await forEachChunk(file, send);
      await new Promise<void>((ended) => put.end(ended));
    };
    const [[response]] = (await Promise.all([once(put, 'response'), sendAll()])) as [[IncomingMessage], void];
    const body = await text(response);
    if (response.statusCode !== 201) throw new Error(`PUT ${path}: ${response.statusCode} ${body}`);
    return JSON.parse(body) as { sha256: string; size: number };
  }

  /** SIGTERM lets the server close its embedded database cleanly; SIGKILL only if it hangs. */
  async stop(): Promise<void> {
    if (this.exitStatus !== undefined) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** VmRSS is resident memory now, VmHWM its peak since the process started. */
export async function memoryMib(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib) / 1024;
}

/** The embedded database (PGlite) is the server's one child process; its memory is not in the server's RSS. */
export async function childPid(pid: number): Promise<number | undefined> {
  // Kernels built without CONFIG_PROC_CHILDREN lack this file; the figure is context, not worth failing for.
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const first = children.trim().split(/\s+/)[0];
  return first ? Number(first) : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
    probe.on('error', reject);
  });
}
