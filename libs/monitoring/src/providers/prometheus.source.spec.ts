import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencyQuantile } from '@gatehouse/canary-judge';
import { DEFAULT_PROMETHEUS_QUERIES, type PrometheusProviderPolicy } from '../monitoring-policy';
import { MetricSourceUnavailableError, type VersionWindow } from './metric-source';
import { PrometheusSource } from './prometheus.source';

/** What the fake answers a query with: an HTTP status and a JSON body (or raw text), or nothing at all. */
type Answer = { status: number; body: unknown } | { status: number; text: string } | 'hang';

const WINDOW: VersionWindow = { model: 'ranker', version: '2.0.0', versionId: 'v-2', from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-01T00:01:00Z') };
const EXPANDED = {
  requests: 'sum(increase(model_requests_total{model="ranker",version="2.0.0"}[60s]))',
  errors: 'sum(increase(model_request_errors_total{model="ranker",version="2.0.0"}[60s]))',
  latencyBuckets: 'sum by (le) (increase(model_request_duration_seconds_bucket{model="ranker",version="2.0.0"}[60s]))',
};

const vector = (result: { metric?: Record<string, string>; value: string }[]) => ({
  status: 200,
  body: { status: 'success', data: { resultType: 'vector', result: result.map(({ metric = {}, value }) => ({ metric, value: [1767225660, value] })) } },
});

describe('PrometheusSource', () => {
  // A loopback server that answers /api/v1/query as Prometheus does, from a table of answers by query.
  let server: Server;
  let address: string;
  let answers: Map<string, Answer>;
  const asked: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const params = new URL(request.url!, 'http://localhost').searchParams;
      asked.push(params);
      const answer = answers.get(params.get('query')!) ?? { status: 400, body: { status: 'error', errorType: 'bad_data', error: 'unexpected query' } };
      if (answer === 'hang') return;
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end('text' in answer ? answer.text : JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    asked.length = 0;
    answers = new Map<string, Answer>([
      [EXPANDED.requests, vector([{ value: '100.4' }])],
      [EXPANDED.errors, vector([{ value: '3' }])],
      [
        EXPANDED.latencyBuckets,
        vector([
          { metric: { le: '0.01' }, value: '20' },
          { metric: { le: '0.02' }, value: '90.2' },
          { metric: { le: '+Inf' }, value: '100.4' },
        ]),
      ],
    ]);
  });

  const source = (overrides: Partial<PrometheusProviderPolicy> = {}) =>
    new PrometheusSource({ kind: 'prometheus', address, queries: { ...DEFAULT_PROMETHEUS_QUERIES }, timeoutMs: 2000, ...overrides });

  async function problemOf(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(MetricSourceUnavailableError);
    return (error as Error).message;
  }

  it('runs the three templates as instant queries at the window end and reads them as one aggregate', async () => {
    const { aggregate, profile } = await source().aggregate(WINDOW);
    expect(profile).toBeNull();
    expect(aggregate).toMatchObject({ count: 100, errors: 3 });
    // 20 requests at 5 ms, 70 at 15 ms, 10 above 20 ms placed at 20 ms.
    expect(latencyQuantile(aggregate, 0.1)! / 5).toBeCloseTo(1, 1);
    expect(latencyQuantile(aggregate, 0.5)! / 15).toBeCloseTo(1, 1);
    expect(latencyQuantile(aggregate, 0.95)! / 20).toBeCloseTo(1, 1);
    expect(asked.map((params) => params.get('query')).sort()).toEqual(Object.values(EXPANDED).sort());
    expect(asked.every((params) => params.get('time') === '1767225660')).toBe(true);
  });

  it('reads empty vectors as a version that served nothing', async () => {
    for (const query of Object.values(EXPANDED)) answers.set(query, vector([]));
    expect((await source().aggregate(WINDOW)).aggregate).toMatchObject({ count: 0, errors: 0, latency: { bins: {}, zeroCount: 0 } });
  });

  it('names the address, the query and the error Prometheus answered', async () => {
    answers.set(EXPANDED.errors, { status: 422, body: { status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' } });
    expect(await problemOf(source().aggregate(WINDOW))).toBe(
      `Prometheus at ${address}, query ${EXPANDED.errors}: answered 422 execution: many-to-many matching not allowed: check the query in the monitoring policy`,
    );
  });

  it.each<[string, Answer, string]>([
    [
      'a scalar',
      { status: 200, body: { status: 'success', data: { resultType: 'scalar', result: [1767225660, '4'] } } },
      'answered a scalar, not an instant vector: the query must be one, such as sum(increase(…[{{window}}]))',
    ],
    ['two series', vector([{ value: '1' }, { value: '2' }]), 'answered 2 series, not one: aggregate them with sum(…)'],
    ['a value that is not a count', vector([{ value: 'NaN' }]), 'answered NaN, not a count ≥ 0'],
    ['a page that is not JSON', { status: 200, text: '<html>login</html>' }, 'is ADDRESS a Prometheus server?'],
  ])('refuses a requests query answering %s', async (_, answer, problem) => {
    answers.set(EXPANDED.requests, answer);
    expect(await problemOf(source().aggregate(WINDOW))).toContain(problem.replace('ADDRESS', address));
  });

  it('refuses buckets that are not a histogram summed by le', async () => {
    answers.set(EXPANDED.latencyBuckets, vector([{ metric: { instance: 'a' }, value: '3' }]));
    expect(await problemOf(source().aggregate(WINDOW))).toBe(
      `Prometheus at ${address}, query ${EXPANDED.latencyBuckets}: answered a series without an "le" label ({"instance":"a"}): sum the _bucket series by (le)`,
    );
    answers.set(EXPANDED.latencyBuckets, vector([{ metric: { le: '0.1' }, value: '3' }]));
    expect(await problemOf(source().aggregate(WINDOW))).toBe(
      `Prometheus at ${address}, query ${EXPANDED.latencyBuckets}: answered buckets that are not a latency histogram: the latency buckets have no le="+Inf" bucket: sum the histogram's _bucket series by (le)`,
    );
  });

  it('gives up on a server that does not answer within the timeout', async () => {
    answers.set(EXPANDED.requests, 'hang');
    expect(await problemOf(source({ timeoutMs: 200 }).aggregate(WINDOW))).toBe(
      `Prometheus at ${address}, query ${EXPANDED.requests}: did not answer within 200 ms: check that it is up, or raise the provider's timeoutMs`,
    );
  });

  it('names a server that is down', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const down = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const problem = await problemOf(source({ address: down }).aggregate(WINDOW));
    expect(problem).toMatch(new RegExp(`^Prometheus at ${down}, query .*: could not be reached \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\): check that it is running`));
  });
});
