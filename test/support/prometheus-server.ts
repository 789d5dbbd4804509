import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait';

/** Debian's prometheus package; .ci/run installs it when it is missing. */
const PROMETHEUS_BINARY = '/usr/bin/prometheus';

export interface PrometheusServer {
  /** Base URL of its HTTP API, http://127.0.0.1:PORT. */
  address: string;
  /** Stops the server and removes its storage; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free loopback port, with its own configuration and
 * storage in a temporary directory, scraping `targets` (host:port serving
 * /metrics) every second, so `increase()` over a few seconds has samples.
 * Resolves once /-/ready answers.
 */
export async function startPrometheus(targets: string[]): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: serving',
    '    static_configs:',
    `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child = spawn(
    PROMETHEUS_BINARY,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const address = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await terminate(child, exited);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await until(
      async () => {
        if (spawnError) throw new Error(`${PROMETHEUS_BINARY} could not start (${spawnError.message}): install Debian's prometheus package, as .ci/run does`);
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}) before it was ready:\n${stderr}`);
        return (await fetch(`${address}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      30_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, stop };
}

/** SIGTERM, and SIGKILL if it has not exited after 10 s (it flushes its head block on the way out). */
async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** A loopback port nothing listens on right now: the kernel's pick for a listener that is closed at once. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
