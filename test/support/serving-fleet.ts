import { SeededRandom } from '@gatehouse/onnx';
import type { ApiClient } from './api-client';

/** How one version behaves when it serves: its latency distribution and how often it fails. */
export interface VersionBehaviour {
  /** Median latency in ms of a log-normal distribution. */
  medianLatencyMs: number;
  /** Share of requests that fail. */
  errorRate: number;
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
}

/**
 * A simulated serving fleet: each tick it asks the registry which version
 * serves each request key (GET /v1/models/{name}/resolve?key=), serves the
 * requests with that version's behaviour, and reports what happened as one
 * telemetry batch. Latencies are drawn, not waited for: the registry judges
 * what serving systems report.
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
        observations.push({ version, latencyMs, error: this.random.next() < behaviour.errorRate });
      }
      this.served.set(version, (this.served.get(version) ?? 0) + requestsPerKey);
    }
    if (observations.length === 0) return;
    const reported = await this.reporter.post(`/v1/models/${model}/telemetry`, { observations });
    if (reported.status !== 200) this.failures.push(`${reported.status} ${JSON.stringify(reported.body)}`);
  }

  private async resolve(key: string): Promise<string | undefined> {
    const resolved = await this.reporter.get(`/v1/models/${this.options.model}/resolve?key=${key}`);
    return resolved.status === 200 ? (resolved.body.version as string) : undefined;
  }
}
