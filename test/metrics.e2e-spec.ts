import type { KeyObject } from 'node:crypto';
import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { finishedGate, registerVersion, trustedSigningKey } from './support/model-registration';
import { promoteAndSettle } from './support/promotion-flow';
import { promtoolCheck, sampleValue, samplesOf, type Sample } from './support/prometheus';
import { startRegistry, WITHOUT_CANARY_ANALYSIS, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const fixtures = standardFixtures();
const model = fixtures.classifier.model;
const evaluation = jsonLines(fixtures.classifier.evaluation);
const FILES_ROUTE = '/v1/models/:name/versions/:version/files/*path';

/** GET /metrics as `client`: a 200 whose body promtool parses without a lint problem, read into samples. */
async function scrape(client: ApiClient): Promise<{ text: string; samples: Sample[] }> {
  const response = await client.get('/metrics');
  expect(response.status).toBe(200);
  // The text format, version 0.0.4, whatever order Express writes its parameters in.
  const [type, ...parameters] = (response.headers.get('content-type') ?? '').split(/;\s*/);
  expect([type, parameters.sort()]).toEqual(['text/plain', ['charset=utf-8', 'version=0.0.4']]);
  const text = (response.body as Buffer).toString('utf8');
  expect(promtoolCheck(text)).toEqual({ parsed: true, problems: [] });
  return { text, samples: samplesOf(text) };
}

const register = (client: ApiClient, version: string, signWith: KeyObject) =>
  registerVersion(client, {
    model: 'scorer',
    version,
    task: model.task,
    files: { 'model.onnx': model.bytes },
    schema: model.schema,
    datasets: [{ role: 'evaluation', name: 'scorer-eval', content: evaluation }],
    signWith,
  });

/** /metrics through HTTP on real servers: what a registry did, counted once and by the right amounts, labelled by route templates. */
describe('metrics (embedded)', () => {
  let registry: TestRegistry;
  let open: TestRegistry;
  let engineer: ApiClient;
  let reader: ApiClient;
  let approvers: ApiClient[];
  let releaseKey: KeyObject;

  beforeAll(async () => {
    [registry, open] = await Promise.all([
      startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50', ...WITHOUT_CANARY_ANALYSIS }),
      startRegistry('embedded', { METRICS_AUTH: 'open' }),
    ]);
    const token = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
    engineer = await token('engineer', ['ml_engineer']);
    reader = await token('scraper', ['reader']);
    approvers = [await token('approver-a', ['approver']), await token('approver-b', ['approver'])];
    releaseKey = await trustedSigningKey(registry.admin, 'release');
  });
  afterAll(() => Promise.all([registry?.close(), open?.close()]));

  it('asks any valid token by default, a reader’s included, and answers 401 without one', async () => {
    const missing = await registry.anonymous.get('/metrics');
    expect([missing.status, missing.body.error]).toEqual([401, 'token_missing']);
    expect((await registry.anonymous.withToken('gh_not_a_token').get('/metrics')).status).toBe(401);
    await scrape(reader);
    await scrape(registry.admin);
  });

  it('answers without a token when METRICS_AUTH=open, and reads the queued gate runs at each scrape', async () => {
    const { samples } = await scrape(open.anonymous);
    expect(sampleValue(samples, 'gatehouse_gate_runs_queued')).toBe(0);
    expect(sampleValue(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // This registry runs no gate worker: a committed version's registration gate waits in the queue.
    expect((await register(open.admin, '1.0.0', await trustedSigningKey(open.admin, 'release'))).status).toBe(200);
    const after = (await scrape(open.anonymous)).samples;
    expect(sampleValue(after, 'gatehouse_gate_runs_queued')).toBe(1);
    expect(sampleValue(after, 'gatehouse_gate_runs_finished_total', { stage: 'registered', outcome: 'passed' })).toBe(0);
    expect(sampleValue(after, 'gatehouse_blob_bytes_in_total')).toBe(model.bytes.length + Buffer.byteLength(evaluation));
  });

  it('counts gates, promotions, rollbacks, blob bytes and audit events by what happened, and labels requests by route template', async () => {
    const before = (await scrape(reader)).samples;
    const moved = (after: Sample[], name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    const ref = (version: string) => ({ model: 'scorer', version });

    expect((await register(engineer, '1.0.0', releaseKey)).status).toBe(200);
    expect((await finishedGate(engineer, 'scorer', '1.0.0')).status).toBe('passed');
    for (const stage of ['staging', 'canary', 'production'] as const) expect((await promoteAndSettle(engineer, approvers, ref('1.0.0'), stage)).status).toBe('completed');
    // Refused: no earlier production version. Nothing happened, so nothing is counted.
    expect((await engineer.post('/v1/models/scorer/rollback', { reason: 'nothing to go back to' })).status).toBe(409);

    expect((await register(engineer, '1.1.0', releaseKey)).status).toBe(200);
    expect((await finishedGate(engineer, 'scorer', '1.1.0')).status).toBe('passed');
    for (const stage of ['staging', 'canary'] as const) expect((await promoteAndSettle(engineer, approvers, ref('1.1.0'), stage)).status).toBe('completed');
    const asked = await engineer.post('/v1/models/scorer/versions/1.1.0/promotions', { stage: 'production' });
    expect(asked.status).toBe(202);
    const requested = await until(async () => {
      const promotion = (await engineer.get(`/v1/promotions/${asked.body.id}`)).body;
      return ['queued', 'gating'].includes(promotion.status) ? undefined : promotion;
    }, 60_000);
    expect(requested.status).toBe('awaiting_approval');
    expect((await approvers[0].post(`/v1/promotions/${requested.id}/approvals`, { decision: 'reject', comment: 'not this week' })).body.status).toBe('rejected');
    expect((await engineer.post('/v1/models/scorer/rollback', { stage: 'canary', reason: 'abort the canary' })).status).toBe(200);

    const downloaded = await reader.get('/v1/models/scorer/versions/1.0.0/files/model.onnx');
    expect([downloaded.status, (downloaded.body as Buffer).equals(Buffer.from(model.bytes))]).toEqual([200, true]);
    expect((await reader.get('/v1/models/scorer/resolve?key=user-1')).body).toMatchObject({ version: '1.0.0', stage: 'production' });
    expect((await reader.get('/v1/models/scorer/resolve?key=user-2')).status).toBe(200);
    expect((await reader.get('/v1/no-such-route/scorer')).status).toBe(404);
    expect((await registry.anonymous.get('/metrics')).status).toBe(401);

    const { text, samples: after } = await scrape(reader);
    for (const stage of ['registered', 'staging', 'canary', 'production']) {
      expect([stage, moved(after, 'gatehouse_gate_runs_finished_total', { stage, outcome: 'passed' })]).toEqual([stage, 2]);
      expect([stage, moved(after, 'gatehouse_gate_run_duration_seconds_count', { stage, outcome: 'passed' })]).toEqual([stage, 2]);
    }
    expect(after.filter((sample) => sample.name === 'gatehouse_gate_runs_finished_total' && sample.labels.outcome !== 'passed')).toEqual([]);
    expect(sampleValue(after, 'gatehouse_gate_runs_queued')).toBe(0);
    expect(sampleValue(after, 'gatehouse_gate_lease_renewals_total', { result: 'lost' }) + sampleValue(after, 'gatehouse_gate_lease_renewals_total', { result: 'failed' })).toBe(0);
    expect(text).toContain('# TYPE gatehouse_gate_lease_renewals_total counter');

    expect(moved(after, 'gatehouse_promotions_decided_total', { stage: 'staging', outcome: 'completed' })).toBe(2);
    expect(moved(after, 'gatehouse_promotions_decided_total', { stage: 'canary', outcome: 'completed' })).toBe(2);
    expect(moved(after, 'gatehouse_promotions_decided_total', { stage: 'production', outcome: 'completed' })).toBe(1);
    expect(moved(after, 'gatehouse_promotions_decided_total', { stage: 'production', outcome: 'rejected' })).toBe(1);
    expect(moved(after, 'gatehouse_rollbacks_total', { stage: 'canary' })).toBe(1);
    expect(moved(after, 'gatehouse_rollbacks_total', { stage: 'production' })).toBe(0);

    // Two uploads of the model (stored once, content-addressed) and the evaluation data once; out, the one download alone, not the gates' reads.
    expect(moved(after, 'gatehouse_blob_bytes_in_total')).toBe(2 * model.bytes.length + Buffer.byteLength(evaluation));
    expect(moved(after, 'gatehouse_blob_bytes_out_total')).toBe(model.bytes.length);

    // Every event in the audit log since start, by action, and nothing else.
    const events = (await registry.admin.get('/v1/audit?limit=500')).body.items as { action: string }[];
    const logged: Record<string, number> = {};
    for (const { action } of events) logged[action] = (logged[action] ?? 0) + 1;
    const counted = Object.fromEntries(after.filter((sample) => sample.name === 'gatehouse_audit_events_appended_total').map((sample) => [sample.labels.action, sample.value]));
    expect(counted).toEqual(logged);
    expect(logged).toMatchObject({ 'stage.canary_aborted': 1, 'promotion.rejected': 1, 'promotion.completed': 5 });

    const requests = (labels: Record<string, string>) => moved(after, 'gatehouse_http_request_duration_seconds_count', labels);
    expect(requests({ method: 'PUT', route: FILES_ROUTE, status_code: '201' })).toBe(2);
    expect(requests({ method: 'GET', route: FILES_ROUTE, status_code: '200' })).toBe(1);
    expect(requests({ method: 'POST', route: '/v1/models/:name/rollback', status_code: '409' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/models/:name/resolve', status_code: '200' })).toBe(2);
    expect(requests({ method: 'GET', route: '/metrics', status_code: '401' })).toBe(1);
    expect(requests({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/promotions/:id', status_code: '200' })).toBeGreaterThan(0);
    const routes = new Set(after.filter((sample) => sample.name === 'gatehouse_http_request_duration_seconds_count').map((sample) => sample.labels.route));
    for (const route of routes) expect(route === 'unmatched' || /^\/[a-z0-9/:*_-]*$/i.test(route)).toBe(true);
    // Only the model-level series name models and versions, and only the ones serving: never a route, a file or an id.
    const modelLevel = /^gatehouse_(model_\w+|alerts_firing)[{ ]/;
    const serviceLevel = text
      .split('\n')
      .filter((line) => !modelLevel.test(line))
      .join('\n');
    for (const raw of ['scorer', '1.0.0', 'model.onnx', 'no-such-route', requested.id]) expect(serviceLevel).not.toContain(raw);
    expect(after.filter((sample) => sample.name === 'gatehouse_model_requests').map((sample) => sample.labels)).toEqual([
      { model: 'scorer', version: '1.0.0', stage: 'production' },
    ]);
  });
});
