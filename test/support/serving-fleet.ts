import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, exponentialBuckets, Histogram, Registry } from 'prom-client';
import { SeededRandom } from '@gatehouse/onnx';
import type { ApiClient } from './api-client';

/** How one version behaves when it serves: its latency distribution and how often it fails. */
export interface VersionBehaviour {
  /** Median latency in ms of a log-normal distribution. */
  medianLatencyMs: number;
  /** Share of requests that fail. */
  errorRate: number;
  /** The inputs its requests carry, reported as features: one drawn from these rows per request, each element moved by `shift`. */
  inputs?: { name: string; rows: number[][]; shift: number };
}

export interface FleetOptions {
  model: string;
  /** Request keys the fleet routes (users, sessions); each is resolved through /resolve and re-resolved every tick. */
  keys: number;
  /** Requests each key makes per tick. */
  requestsPerKey: number;
  tickMs: number;
  behaviour: (version: string) => VersionBehaviour;
  seed: number;
  /** Where the fleet reports: by default it posts telemetry to the registry; given these, it records into them instead, for Prometheus to scrape. */
  metrics?: ServingMetrics;
}

/**
 * A serving process's Prometheus exposition, on a loopback /metrics: the
 * conventional series the registry's default Prometheus queries read, each
 * labelled with model and version. Its own Registry, so nothing of the test
 * process's global one is scraped.
 */
export class ServingMetrics {
  private readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'model_requests_total', help: 'Requests served', labelNames: ['model', 'version'], registers: [this.registry] });
  private readonly errors = new Counter({ name: 'model_request_errors_total', help: 'Requests that failed', labelNames: ['model', 'version'], registers: [this.registry] });
  /** 5% apart from 1 ms to ~130 ms: finer than the 10% slowdown the judge fails on, and above the fleets' latencies. */
  private readonly duration = new Histogram({
    name: 'model_request_duration_seconds',
    help: 'Time taken to serve a request',
    labelNames: ['model', 'version'],
    buckets: exponentialBuckets(0.001, 1.05, 100),
    registers: [this.registry],
  });
  private server?: Server;

  record(model: string, version: string, latencyMs: number, error: boolean): void {
    const labels = { model, version };
    this.requests.inc(labels);
    // Incremented by 0 too, so the series exists before its first error and increase() counts that one.
    this.errors.inc(labels, error ? 1 : 0);
    this.duration.observe(labels, latencyMs / 1000);
  }

  /** Serves /metrics on a free loopback port; resolves to the host:port a scrape config names. */
  async listen(): Promise<string> {
    const server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (exposition) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(exposition),
        (error: Error) => response.writeHead(500).end(error.message),
      );
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * A simulated serving fleet: each tick it asks the registry which version
 * serves each request key (GET /v1/models/{name}/resolve?key=), serves the
 * requests with that version's behaviour, and reports what happened as one
 * telemetry batch (or into its ServingMetrics, for Prometheus to scrape).
 * Latencies are drawn, not waited for: the registry judges what serving
 * systems report.
 */
export class ServingFleet {
  private readonly random: SeededRandom;
  private running = false;
  private loop?: Promise<void>;
  /** Requests reported per version. */
  readonly served = new Map<string, number>();
  readonly failures: string[] = [];
  /** Ticks that could not reach the registry (it was restarting): a real fleet would buffer or drop them too. */
  unreachableTicks = 0;

  constructor(
    private readonly reporter: ApiClient,
    private readonly options: FleetOptions,
  ) {
    this.random = new SeededRandom(options.seed);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.failures.length > 0) throw new Error(`the fleet's reports failed: ${this.failures.slice(0, 3).join('; ')}`);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      try {
        await this.tick();
      } catch {
        this.unreachableTicks++;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.options.tickMs - (Date.now() - started))));
    }
  }

  private async tick(): Promise<void> {
    const { model, keys, requestsPerKey } = this.options;
    const versions = await Promise.all(Array.from({ length: keys }, (_, key) => this.resolve(`user-${key}`)));
    const observations = [];
    for (const version of versions) {
      if (version === undefined) continue;
      const behaviour = this.options.behaviour(version);
      for (let request = 0; request < requestsPerKey; request++) {
        const latencyMs = behaviour.medianLatencyMs * Math.exp(0.3 * this.random.normal());
        const error = this.random.next() < behaviour.errorRate;
        const inputs = behaviour.inputs;
        const row = inputs?.rows[Math.floor(this.random.next() * inputs.rows.length)];
        observations.push({ version, latencyMs, error, ...(inputs && row ? { features: { [inputs.name]: row.map((value) => value + inputs.shift) } } : {}) });
      }
      this.served.set(version, (this.served.get(version) ?? 0) + requestsPerKey);
    }
    if (observations.length === 0) return;
    const { metrics } = this.options;
    if (metrics) {
      for (const { version, latencyMs, error } of observations) metrics.record(model, version, latencyMs, error);
      return;
    }
    const reported = await this.reporter.post(`/v1/models/${model}/telemetry`, { observations });
    if (reported.status !== 200) this.failures.push(`${reported.status} ${JSON.stringify(reported.body)}`);
  }

  private async resolve(key: string): Promise<string | undefined> {
    const resolved = await this.reporter.get(`/v1/models/${this.options.model}/resolve?key=${key}`);
    return resolved.status === 200 ? (resolved.body.version as string) : undefined;
  }
}
