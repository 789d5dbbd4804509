import { aggregateFromHistogram, type HistogramBucket } from '@gatehouse/canary-judge';
import { expandPrometheusQuery, type PrometheusProviderPolicy, type PrometheusQueries } from '../monitoring-policy';
import { MetricSourceUnavailableError, type MetricSource, type SourcedAggregate, type VersionWindow } from './metric-source';

/** One series of an instant vector, as the HTTP API writes it: its labels, and [unix seconds, value as text]. */
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A Prometheus server that scrapes the serving fleet, read as Argo Rollouts'
 * Prometheus provider reads it: PromQL templates filled for the version, run
 * as instant queries (GET /api/v1/query) at the window's end, each with a
 * timeout. The window is the templates' {{window}}, so `increase(…[{{window}}])`
 * evaluated at its end covers it exactly. Prometheus knows nothing of the
 * reference dataset: there is no profile, and drift is no_data.
 *
 * A server that is down, slow, answers an error or a result that is not an
 * instant vector throws MetricSourceUnavailableError naming the address and
 * the query, which makes the interval inconclusive. An empty vector is no
 * traffic: zero counts.
 */
export class PrometheusSource implements MetricSource {
  constructor(private readonly provider: PrometheusProviderPolicy) {}

  async aggregate(window: VersionWindow): Promise<SourcedAggregate> {
    const query = (name: keyof PrometheusQueries) => this.instantQuery(name, window);
    const [requests, errors, buckets] = await Promise.all([query('requests'), query('errors'), query('latencyBuckets')]);
    const counts = {
      requests: this.single(requests),
      errors: this.single(errors),
      buckets: buckets.samples.map((sample) => this.bucket(buckets, sample)),
    };
    try {
      return { aggregate: aggregateFromHistogram(counts), profile: null };
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw this.unavailable(buckets.query, `answered buckets that are not a latency histogram: ${error.message}`);
    }
  }

  private async instantQuery(name: keyof PrometheusQueries, window: VersionWindow): Promise<{ query: string; samples: VectorSample[] }> {
    const { address, timeoutMs } = this.provider;
    // Model names and semantic versions hold no quote or backslash, so they sit in a PromQL string as they are.
    const query = expandPrometheusQuery(this.provider.queries[name], {
      model: window.model,
      version: window.version,
      window: `${Math.round((window.to.getTime() - window.from.getTime()) / 1000)}s`,
    });
    const url = `${address}/api/v1/query?${new URLSearchParams({ query, time: String(window.to.getTime() / 1000) }).toString()}`;
    let status: number;
    let body: unknown;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      status = response.status;
      const text = await response.text();
      try {
        body = JSON.parse(text);
      } catch {
        throw this.unavailable(query, `answered ${status} with a body that is not JSON (${text.slice(0, 200)}): is ${address} a Prometheus server?`);
      }
    } catch (error) {
      if (error instanceof MetricSourceUnavailableError) throw error;
      throw this.unavailable(query, unreachable(error as Error, timeoutMs));
    }
    const envelope = isRecord(body) ? body : {};
    if (status < 200 || status >= 300 || envelope.status !== 'success') {
      const reason = typeof envelope.error === 'string' ? `${String(envelope.errorType)}: ${envelope.error}` : JSON.stringify(body).slice(0, 200);
      throw this.unavailable(query, `answered ${status} ${reason}: check the query in the monitoring policy`);
    }
    const data = isRecord(envelope.data) ? envelope.data : {};
    if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
      throw this.unavailable(query, `answered a ${String(data.resultType)}, not an instant vector: the query must be one, such as sum(increase(…[{{window}}]))`);
    }
    return { query, samples: data.result as VectorSample[] };
  }

  /** The one number a request or error query answers; no series is no traffic. */
  private single({ query, samples }: { query: string; samples: VectorSample[] }): number {
    if (samples.length === 0) return 0;
    if (samples.length > 1) throw this.unavailable(query, `answered ${samples.length} series, not one: aggregate them with sum(…)`);
    return this.valueOf(query, samples[0]);
  }

  private bucket(result: { query: string; samples: VectorSample[] }, sample: VectorSample): HistogramBucket {
    const le = sample.metric?.le;
    if (le === undefined) throw this.unavailable(result.query, `answered a series without an "le" label (${JSON.stringify(sample.metric)}): sum the _bucket series by (le)`);
    // Prometheus writes the top bound as "+Inf", which Number() does not read.
    return { le: le === '+Inf' ? Infinity : Number(le), count: this.valueOf(result.query, sample) };
  }

  private valueOf(query: string, sample: VectorSample): number {
    const value = Number(sample.value?.[1]);
    if (!Number.isFinite(value) || value < 0) throw this.unavailable(query, `answered ${String(sample.value?.[1])}, not a count ≥ 0`);
    return value;
  }

  private unavailable(query: string, problem: string): MetricSourceUnavailableError {
    return new MetricSourceUnavailableError(`Prometheus at ${this.provider.address}, query ${query}: ${problem}`);
  }
}

/** Why fetch threw: the timeout, or the network error undici keeps as its cause (ECONNREFUSED and the like). */
function unreachable(error: Error, timeoutMs: number): string {
  if (error.name === 'TimeoutError') return `did not answer within ${timeoutMs} ms: check that it is up, or raise the provider's timeoutMs`;
  // Duck-typed: undici's errors may come from another realm (a test environment's), where instanceof Error fails.
  const cause = (error.cause as { message?: unknown } | undefined)?.message;
  return `could not be reached (${typeof cause === 'string' ? cause : error.message}): check that it is running and that the provider's address is right`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
