import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, standardFixtures, type ModelFixture } from './fixtures/onnx-models';
import { ApiClient, type ApiResponse } from './support/api-client';
import { finishedGate, registerVersion, trustedSigningKey } from './support/model-registration';
import { OpenApiContract } from './support/openapi';
import { startRegistry, startReplica, WITHOUT_CANARY_ANALYSIS, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const fixtures = standardFixtures();
const FINAL = ['completed', 'rejected'];

/** Promotion through staging, canary and production with real gates, approvals, rollback and the stage history. */
describe('promotion (embedded)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let lead: ApiClient;
  let approverA: ApiClient;
  let approverB: ApiClient;
  let releaseKey: KeyObject;
  let contract: OpenApiContract;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50', ...WITHOUT_CANARY_ANALYSIS });
    contract = await OpenApiContract.of(registry.admin);
    releaseKey = await trustedSigningKey(registry.admin, 'release');
    const token = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
    engineer = await token('engineer', ['ml_engineer']);
    lead = await token('lead', ['ml_engineer', 'approver']);
    approverA = await token('approver-a', ['approver']);
    approverB = await token('approver-b', ['approver']);
  });
  afterAll(() => registry?.close());

  const register = async (version: string, model: ModelFixture = fixtures.classifier.model) => {
    expect(
      (
        await registerVersion(engineer, {
          model: 'scorer',
          version,
          task: model.task,
          files: { 'model.onnx': model.bytes },
          schema: model.schema,
          datasets: [{ role: 'evaluation', name: 'scorer-eval', content: jsonLines(fixtures.classifier.evaluation) }],
          signWith: releaseKey,
        })
      ).status,
    ).toBe(200);
    return (await finishedGate(engineer, 'scorer', version)).status;
  };
  const promote = (client: ApiClient, version: string, body: object) => client.post(`/v1/models/scorer/versions/${version}/promotions`, body);
  const settled = (id: string, statuses = FINAL) =>
    until(async () => {
      const promotion = (await engineer.get(`/v1/promotions/${id}`)).body;
      return statuses.includes(promotion.status) ? promotion : undefined;
    }, 60_000);
  const toProduction = async (version: string) => {
    for (const [stage, extra] of [
      ['staging', {}],
      ['canary', { trafficPercent: 10 }],
    ] as const) {
      const requested = await promote(engineer, version, { stage, ...extra });
      expect(requested.status).toBe(202);
      contract.check('post', '/v1/models/{name}/versions/{version}/promotions', requested);
      expect(['queued', 'gating']).toContain(requested.body.status);
      expect((await settled(requested.body.id)).status).toBe('completed');
    }
    const requested = await promote(lead, version, { stage: 'production', reason: `ship ${version}` });
    expect(requested.status).toBe(202);
    contract.check('post', '/v1/models/{name}/versions/{version}/promotions', requested);
    return (await settled(requested.body.id, ['awaiting_approval', ...FINAL])).id as string;
  };
  const approve = (client: ApiClient, id: string, comment?: string) => client.post(`/v1/promotions/${id}/approvals`, { decision: 'approve', comment });

  it('takes a validated version to production: gates at each stage, two approvals from distinct approvers, never the requester', async () => {
    expect(await register('1.0.0')).toBe('passed');
    const id = await toProduction('1.0.0');
    const [, canary, staged] = (await engineer.get('/v1/models/scorer/versions/1.0.0/promotions')).body.items;
    expect(staged).toMatchObject({ status: 'completed', stage: 'staging', requestedBy: 'engineer', requiredApprovals: 0 });
    expect(canary).toMatchObject({ status: 'completed', stage: 'canary', trafficPercent: 10 });
    expect((await engineer.get(staged.links.gateRun)).body).toMatchObject({ stage: 'staging', trigger: 'promotion', status: 'passed' });

    const awaiting = await engineer.get(`/v1/promotions/${id}`);
    contract.check('get', '/v1/promotions/{id}', awaiting);
    let promotion = awaiting.body;
    expect(promotion).toMatchObject({ status: 'awaiting_approval', requiredApprovals: 2 });
    expect((await approve(engineer, id)).status).toBe(403);
    const self = await approve(lead, id);
    expect(self.status).toBe(403);
    expect(self.body.error).toBe('self_approval');
    contract.check('post', '/v1/promotions/{id}/approvals', self);
    const byAdmin = await approve(registry.admin, id);
    expect([byAdmin.status, byAdmin.body.error, byAdmin.body.details.allowed]).toEqual([403, 'role_required', ['approver']]);
    expect(byAdmin.body.message).toContain('stages.production.approvers in ');
    expect(byAdmin.body.message).toContain('promotion.json');
    const firstAnswer = await approve(approverA, id, 'metrics look right');
    contract.check('post', '/v1/promotions/{id}/approvals', firstAnswer);
    const first = firstAnswer.body;
    expect(first).toMatchObject({ status: 'awaiting_approval', approverRoles: ['approver'], decisions: [{ actor: 'approver-a', decision: 'approve' }] });
    for (const decision of ['approve', 'reject']) {
      const again = await approverA.post(`/v1/promotions/${id}/approvals`, { decision, comment: 'again' });
      expect([again.status, again.body.error]).toEqual([409, 'already_decided']);
      expect(again.body.message).toContain(`approver-a already approved promotion ${id} at ${first.decisions[0].decidedAt}`);
    }
    expect((await engineer.get(`/v1/promotions/${id}`)).body).toMatchObject({ status: 'awaiting_approval', decisions: [{ actor: 'approver-a', comment: 'metrics look right' }] });
    promotion = (await approve(approverB, id)).body;
    expect(promotion.status).toBe('completed');

    const stagesAnswer = await engineer.get('/v1/models/scorer/stages');
    contract.check('get', '/v1/models/{name}/stages', stagesAnswer);
    const stages = stagesAnswer.body.stages;
    expect(stages).toMatchObject({ staging: null, canary: null, production: { version: '1.0.0', promotionId: id } });
    expect((await engineer.get('/v1/models/scorer/versions/1.0.0')).body.stage).toBe('production');
    const regate = await engineer.post('/v1/models/scorer/versions/1.0.0/gate-runs', { stage: 'registered' });
    expect(regate.status).toBe(409);
    expect(regate.body.error).toBe('version_serving');
    const lineageAnswer = await engineer.get('/v1/models/scorer/versions/1.0.0/lineage');
    contract.check('get', '/v1/models/{name}/versions/{version}/lineage', lineageAnswer);
    const lineage = lineageAnswer.body;
    const history = lineage.nodes.find((node: { version: string }) => node.version === '1.0.0').stageHistory;
    expect(history.map((event: { stage: string; action: string }) => `${event.action}:${event.stage}`)).toEqual(['promoted:staging', 'promoted:canary', 'promoted:production']);
    expect(history[2]).toMatchObject({ actor: 'lead', approvers: ['approver-a', 'approver-b'], promotionId: id, gateRunId: promotion.gateRunId });
    const audit = (await engineer.get('/v1/audit?subject=version:scorer@1.0.0&limit=100')).body.items.map((event: { action: string }) => event.action);
    expect(audit).toEqual(expect.arrayContaining(['promotion.requested', 'promotion.awaiting_approval', 'promotion.approved', 'promotion.completed']));
    expect((await engineer.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it("pages a version's promotion requests and gate runs by cursor: every item once, newest first, and a cursor it never gave is a 400", async () => {
    const versionPath = '/v1/models/scorer/versions/1.0.0';
    for (const list of ['promotions', 'gate-runs']) {
      const whole = (await engineer.get(`${versionPath}/${list}?limit=100`)).body;
      expect(whole.nextCursor).toBeNull();
      // 1.0.0 went through staging, canary and production above: three requests, and three gate runs besides its registration gate.
      expect(whole.items.length).toBeGreaterThanOrEqual(3);
      // Decisions are fetched for the whole page at once: each request still carries its own.
      if (list === 'promotions') expect(whole.items[0]).toMatchObject({ stage: 'production', decisions: [{ actor: 'approver-a' }, { actor: 'approver-b' }] });
      const paged: { id: string; createdAt: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: ApiResponse = await engineer.get(`${versionPath}/${list}?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect([page.status, page.body.items.length]).toEqual([200, 1]);
        contract.check('get', `/v1/models/{name}/versions/{version}/${list}`, page);
        paged.push(...page.body.items);
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor && pages <= whole.items.length);
      expect(pages).toBe(whole.items.length);
      expect(paged).toEqual(whole.items);
      const createdAt = paged.map((item) => item.createdAt);
      expect(createdAt).toEqual([...createdAt].sort().reverse());

      for (const bad of ['not-a-cursor', Buffer.from(JSON.stringify({ k: 'a name' })).toString('base64url')]) {
        const refused = await engineer.get(`${versionPath}/${list}?cursor=${bad}`);
        expect([refused.status, refused.body.error]).toEqual([400, 'invalid_cursor']);
        contract.check('get', `/v1/models/{name}/versions/{version}/${list}`, refused);
      }
    }
  });

  it('refuses each forbidden move with a 409 that says why', async () => {
    expect(await register('1.1.0')).toBe('passed');
    const canary = await promote(engineer, '1.1.0', { stage: 'canary', trafficPercent: 5 });
    expect(canary.status).toBe(409);
    expect(canary.body).toMatchObject({ error: 'promotion_not_allowed' });
    expect(canary.body.message).toContain('not at any stage yet, and canary takes versions from staging');
    expect((await promote(engineer, '1.1.0', { stage: 'production' })).body.message).toContain('production takes versions from canary');
    expect((await promote(engineer, '1.0.0', { stage: 'production' })).body.message).toContain('already in production');

    expect(await register('1.9.0', fixtures.degradedClassifier.model)).toBe('failed');
    expect((await promote(engineer, '1.9.0', { stage: 'staging' })).body.message).toContain('its registration gate rejected it');
    await engineer.post('/v1/models/scorer/versions', { version: '1.8.0', task: 'classification' });
    expect((await promote(engineer, '1.8.0', { stage: 'staging' })).body.message).toContain('it is not committed');

    expect((await promote(engineer, '1.1.0', { stage: 'staging', trafficPercent: 5 })).status).toBe(400);
    expect((await promote(engineer, '1.1.0', { stage: 'canary' })).status).toBe(400);
    expect((await promote(engineer, '1.1.0', { stage: 'moon' })).status).toBe(400);
    expect((await promote(approverA, '1.1.0', { stage: 'staging' })).status).toBe(403);
    expect((await engineer.get('/v1/promotions/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });

  it('ends a request an approver rejects, with the comment audited', async () => {
    const id = await toProduction('1.1.0');
    const rejected = await approverA.post(`/v1/promotions/${id}/approvals`, { decision: 'reject', comment: 'latency regressed on the dashboard' });
    expect(rejected.body).toMatchObject({ status: 'rejected', outcome: { code: 'rejected_by_approver' } });
    expect(rejected.body.outcome.message).toContain('latency regressed');
    expect((await approve(approverB, id)).body.error).toBe('promotion_not_awaiting_approval');
    const audit = (await engineer.get('/v1/audit?subject=version:scorer@1.1.0&action=promotion.rejected')).body.items;
    expect(audit[0]).toMatchObject({ actor: 'approver-a', payload: { comment: 'latency regressed on the dashboard' } });
    expect((await engineer.get('/v1/models/scorer/stages')).body.stages).toMatchObject({ canary: { version: '1.1.0', trafficPercent: 10 }, production: { version: '1.0.0' } });
  });

  it('re-gates a request whose production changed while it waited, and rolls production back and aborts canaries', async () => {
    // 1.1.0 holds canary; take 1.2.0 to production over 1.0.0 (1.1.0's canary is replaced on the way).
    expect(await register('1.2.0')).toBe('passed');
    const second = await toProduction('1.2.0');
    await approve(approverA, second);
    expect((await approve(approverB, second)).body.status).toBe('completed');
    // 1.0.0 served in production: archived. 1.1.0 only held canary: validated again, promotable, with its displacement in the history.
    expect((await engineer.get('/v1/models/scorer/versions/1.0.0')).body.stage).toBe('archived');
    expect((await engineer.get('/v1/models/scorer/versions/1.1.0')).body).toMatchObject({ status: 'validated', stage: 'none' });
    const stageMoves = async (version: string) =>
      (await engineer.get('/v1/models/scorer/history')).body.items
        .filter((event: { version: string }) => event.version === version)
        .map((event: { stage: string; action: string }) => `${event.action}:${event.stage}`)
        .reverse();
    expect(await stageMoves('1.1.0')).toEqual(['promoted:staging', 'promoted:canary', 'replaced:canary']);
    expect((await settled((await promote(engineer, '1.1.0', { stage: 'staging' })).body.id)).status).toBe('completed');
    expect((await engineer.get('/v1/models/scorer/versions/1.1.0')).body.stage).toBe('staging');

    // 1.3.0 waits for approval while production is rolled back under it: its gate is stale.
    expect(await register('1.3.0')).toBe('passed');
    const third = await toProduction('1.3.0');
    const before = (await engineer.get(`/v1/promotions/${third}`)).body.gateRuns;
    const rolled = await engineer.post('/v1/models/scorer/rollback', { reason: '1.2.0 misbehaves' });
    expect(rolled.status).toBe(200);
    expect(rolled.body).toEqual({ model: 'scorer', stage: 'production', rolledBack: '1.2.0', restored: '1.0.0' });
    contract.check('post', '/v1/models/{name}/rollback', rolled);
    expect((await engineer.get('/v1/models/scorer/versions/1.2.0')).body.stage).toBe('rolled_back');
    await approve(approverA, third);
    const regated = (await approve(approverB, third)).body;
    expect(['queued', 'gating']).toContain(regated.status);
    expect(regated.gateRuns).toHaveLength(before.length + 1);
    const done = await settled(third);
    expect(done.status).toBe('completed');
    expect((await engineer.get('/v1/models/scorer/stages')).body.stages.production.version).toBe('1.3.0');
    // 1.3.0 displaced 1.1.0 from staging on its way: validated again.
    expect((await engineer.get('/v1/models/scorer/versions/1.1.0')).body.stage).toBe('none');
    expect((await stageMoves('1.1.0')).slice(-2)).toEqual(['promoted:staging', 'replaced:staging']);
    expect((await engineer.get('/v1/models/scorer/versions/1.0.0')).body.stage).toBe('archived');

    // Back to 1.0.0 (1.2.0 was rolled back, so it is skipped): the archived version serves again. Then nothing earlier is left.
    expect((await engineer.post('/v1/models/scorer/rollback', { reason: 'again' })).body.restored).toBe('1.0.0');
    expect((await engineer.get('/v1/models/scorer/versions/1.0.0')).body.stage).toBe('production');
    expect((await stageMoves('1.0.0')).slice(-4)).toEqual(['replaced:production', 'restored:production', 'replaced:production', 'restored:production']);
    const nothing = await engineer.post('/v1/models/scorer/rollback', { reason: 'and again' });
    expect(nothing.status).toBe(409);
    expect(nothing.body.error).toBe('nothing_to_roll_back');
    contract.check('post', '/v1/models/{name}/rollback', nothing);
    expect((await engineer.post('/v1/models/scorer/rollback', { reason: 'named', toVersion: '1.3.0' })).body.restored).toBe('1.3.0');
    expect((await engineer.post('/v1/models/scorer/rollback', { reason: 'never served', toVersion: '1.1.0' })).body.message).toContain('has never served in production');
    expect((await engineer.post('/v1/models/scorer/rollback', {})).status).toBe(400);

    // A canary aborted is rolled back; aborting again has nothing to abort.
    expect(await register('1.4.0')).toBe('passed');
    for (const [stage, extra] of [
      ['staging', {}],
      ['canary', { trafficPercent: 30 }],
    ] as const) {
      expect((await settled((await promote(engineer, '1.4.0', { stage, ...extra })).body.id)).status).toBe('completed');
    }
    const keys = Array.from({ length: 200 }, (_, index) => `user-${index}`);
    const served = await Promise.all(keys.map(async (key) => (await engineer.get(`/v1/models/scorer/resolve?key=${key}`)).body.version));
    expect(served.filter((version) => version === '1.4.0').length).toBeGreaterThan(30);
    expect(served.filter((version) => version === '1.3.0').length).toBeGreaterThan(100);
    expect((await engineer.get(`/v1/models/scorer/resolve?key=${keys[0]}`)).body.version).toBe(served[0]);
    expect((await engineer.get('/v1/models/scorer/resolve')).body).toEqual({ model: 'scorer', version: '1.3.0', stage: 'production', trafficPercent: null });
    const aborted = await engineer.post('/v1/models/scorer/rollback', { stage: 'canary', reason: 'error rate' });
    expect(aborted.body).toEqual({ model: 'scorer', stage: 'canary', rolledBack: '1.4.0', restored: null });
    contract.check('post', '/v1/models/{name}/rollback', aborted);
    // Resolve answers from cached pointers; a move on this replica drops them when it commits.
    const onCanary = keys[served.indexOf('1.4.0')];
    expect((await engineer.get(`/v1/models/scorer/resolve?key=${onCanary}`)).body.version).toBe('1.3.0');
    expect((await engineer.post('/v1/models/scorer/rollback', { stage: 'canary', reason: 'again' })).body.error).toBe('nothing_to_roll_back');
    const historyAnswer = await engineer.get('/v1/models/scorer/history');
    contract.check('get', '/v1/models/{name}/history', historyAnswer);
    const history = historyAnswer.body.items;
    expect(history[0]).toMatchObject({ version: '1.4.0', stage: 'canary', action: 'canary_aborted', actor: 'engineer', reason: 'error rate' });
    expect((await engineer.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it('answers resolve errors exactly as the route does: token, model, nothing serving, query', async () => {
    const resolve = (path: string, client: ApiClient = engineer) => client.get(`/v1/models/${path}`);
    const answered = await resolve('scorer/resolve?key=user-1');
    expect(answered.status).toBe(200);
    expect(answered.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await resolve('scorer/resolve', new ApiClient(registry.url))).body.error).toBe('token_missing');
    expect((await resolve('scorer/resolve', registry.admin.withToken('gh_not-a-token'))).body.error).toBe('token_invalid');
    expect((await resolve('no-such-model/resolve')).body).toMatchObject({ statusCode: 404, error: 'model_not_found' });
    await engineer.post('/v1/models', { name: 'unserved' });
    expect((await resolve('unserved/resolve?key=a')).body).toMatchObject({ statusCode: 404, error: 'no_serving_version' });
    for (const query of ['key=a&extra=1', 'key=a&key=b', `key=${'k'.repeat(1001)}`]) {
      const refused = await resolve(`scorer/resolve?${query}`);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('validation_failed');
    }
    expect((await engineer.post('/v1/models/scorer/resolve', {})).status).toBe(404);
  });
});

describe('promotion across two replicas (postgres+s3)', () => {
  let primary: TestRegistry;
  let replica: TestRegistry | undefined;

  beforeAll(async () => {
    primary = await startRegistry('postgres+s3', { GATE_WORKERS: '1', GATE_POLL_MS: '50', ...WITHOUT_CANARY_ANALYSIS });
    replica = await startReplica(primary, { GATE_WORKERS: '1', GATE_POLL_MS: '50', ...WITHOUT_CANARY_ANALYSIS });
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
  });

  it('lets exactly one of 50 concurrent requests through, and the audit chain verifies', async () => {
    if (!replica) throw new Error('no replica: Postgres is required for this test');
    const { classifier } = fixtures;
    expect(
      (
        await registerVersion(primary.admin, {
          model: 'raced',
          version: '1.0.0',
          task: 'classification',
          files: { 'model.onnx': classifier.model.bytes },
          schema: classifier.model.schema,
          datasets: [{ role: 'evaluation', name: 'raced-eval', content: jsonLines(classifier.evaluation) }],
        })
      ).status,
    ).toBe(200);
    expect((await finishedGate(primary.admin, 'raced', '1.0.0')).status).toBe('passed');
    const servers = [primary, replica];
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) => servers[index % 2].admin.post('/v1/models/raced/versions/1.0.0/promotions', { stage: 'staging' })),
    );
    const accepted = responses.filter((response) => response.status === 202);
    expect(accepted).toHaveLength(1);
    expect(responses.filter((response) => response.status === 409).map((response) => response.body.error)).toEqual(Array(49).fill('promotion_in_progress'));
    const done = await until(async () => {
      const promotion = (await primary.admin.get(`/v1/promotions/${accepted[0].body.id}`)).body;
      return FINAL.includes(promotion.status) ? promotion : undefined;
    }, 60_000);
    expect(done.status).toBe('completed');
    expect((await replica.admin.get('/v1/models/raced/stages')).body.stages.staging.version).toBe('1.0.0');
    const again = await replica.admin.post('/v1/models/raced/versions/1.0.0/promotions', { stage: 'staging' });
    expect(again.body.message).toContain('already in staging');
    const requested = (await primary.admin.get('/v1/audit?action=promotion.requested&model=raced')).body.items;
    expect(requested).toHaveLength(1);
    expect((await replica.admin.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it('stops resolving to a canary aborted on the other replica once its cached pointers expire (1 s)', async () => {
    const canary = await primary.admin.post('/v1/models/raced/versions/1.0.0/promotions', { stage: 'canary', trafficPercent: 100 });
    expect(canary.status).toBe(202);
    await until(async () => ((await primary.admin.get(`/v1/promotions/${canary.body.id}`)).body.status === 'completed' ? true : undefined), 60_000);
    const resolved = await until(async () => {
      const answer = await replica!.admin.get('/v1/models/raced/resolve?key=user-7');
      return answer.status === 200 ? answer.body : undefined;
    }, 2_000);
    expect(resolved).toMatchObject({ version: '1.0.0', stage: 'canary' });
    expect((await primary.admin.post('/v1/models/raced/rollback', { stage: 'canary', reason: 'error rate' })).status).toBe(200);
    await until(async () => ((await replica!.admin.get('/v1/models/raced/resolve?key=user-7')).status === 404 ? true : undefined), 3_000);
  });
});

/**
 * A production move and a canary move of one model approved at the same
 * moment on two replicas. Either order is correct: production first (the
 * canary request's gate is then stale and runs again), or the new canary first
 * (it replaces the old one, whose production request can then no longer
 * complete). What must hold is that pointers, version stages and history agree.
 */
describe('production and canary moves of one model completing at once (postgres+s3, two replicas)', () => {
  let primary: TestRegistry;
  let replica: TestRegistry | undefined;
  let dir: string;
  let releaseKey: KeyObject;
  const clients: Record<string, ApiClient> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-race-'));
    const policy = join(dir, 'promotion.json');
    await writeFile(
      policy,
      JSON.stringify({
        stages: {
          staging: { from: ['none'], approvals: 0 },
          canary: { from: ['staging'], approvals: 1, approvers: ['approver', 'admin'] },
          production: { from: ['canary'], approvals: 1 },
        },
      }),
    );
    const env = { GATE_WORKERS: '1', GATE_POLL_MS: '50', PROMOTION_POLICY: policy, ...WITHOUT_CANARY_ANALYSIS };
    primary = await startRegistry('postgres+s3', env);
    replica = await startReplica(primary, env);
    for (const [name, roles] of [
      ['engineer', ['ml_engineer']],
      ['approver-a', ['approver']],
      ['approver-b', ['approver']],
    ] as const) {
      clients[name] = primary.admin.withToken((await primary.admin.post('/v1/tokens', { name, roles })).body.token);
    }
    releaseKey = await trustedSigningKey(primary.admin, 'release');
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const settle = (id: string, statuses: string[]) =>
    until(async () => {
      const promotion = (await primary.admin.get(`/v1/promotions/${id}`)).body;
      return statuses.includes(promotion.status) ? promotion : undefined;
    }, 60_000);
  const request = async (version: string, stage: string, extra: object = {}) => {
    const requested = await clients.engineer.post(`/v1/models/paired/versions/${version}/promotions`, { stage, ...extra });
    expect(requested.status).toBe(202);
    return settle(requested.body.id, ['awaiting_approval', ...FINAL]);
  };
  const register = async (version: string) => {
    const { classifier } = fixtures;
    expect(
      (
        await registerVersion(clients.engineer, {
          model: 'paired',
          version,
          task: 'classification',
          files: { 'model.onnx': classifier.model.bytes },
          schema: classifier.model.schema,
          datasets: [{ role: 'evaluation', name: 'paired-eval', content: jsonLines(classifier.evaluation) }],
          signWith: releaseKey,
        })
      ).status,
    ).toBe(200);
    expect((await finishedGate(clients.engineer, 'paired', version)).status).toBe('passed');
  };

  it('leaves pointers, version stages and history in agreement whichever commits first', async () => {
    if (!replica) throw new Error('no replica: Postgres is required for this test');
    const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0'];
    for (const version of versions) await register(version);
    expect((await request('1.0.0', 'staging')).status).toBe('completed');
    const first = await request('1.0.0', 'canary', { trafficPercent: 10 });
    expect((await clients['approver-a'].post(`/v1/promotions/${first.id}/approvals`, { decision: 'approve' })).body.status).toBe('completed');

    for (let round = 1; round < versions.length; round++) {
      const [current, next] = [versions[round - 1], versions[round]];
      expect((await request(next, 'staging')).status).toBe('completed');
      const production = await request(current, 'production');
      const canary = await request(next, 'canary', { trafficPercent: 10 });
      expect([production.status, canary.status]).toEqual(['awaiting_approval', 'awaiting_approval']);
      // The replicas swap requests each round, so both orders of commit get their turn.
      const [productionServer, canaryServer] = round % 2 === 1 ? [primary, replica] : [replica, primary];
      await Promise.all([
        productionServer.admin.withToken(clients['approver-a'].token!).post(`/v1/promotions/${production.id}/approvals`, { decision: 'approve' }),
        canaryServer.admin.withToken(clients['approver-b'].token!).post(`/v1/promotions/${canary.id}/approvals`, { decision: 'approve' }),
      ]);
      const [productionDone, canaryDone] = [await settle(production.id, FINAL), await settle(canary.id, FINAL)];
      expect(canaryDone.status).toBe('completed');
      if (productionDone.status === 'rejected') expect(productionDone.outcome.code).toBe('no_longer_allowed');
      else expect(canaryDone.gateRuns).toHaveLength(2);

      const stages = (await primary.admin.get('/v1/models/paired/stages')).body.stages;
      expect(stages.canary.version).toBe(next);
      expect(stages.staging).toBeNull();
      if (productionDone.status === 'completed') expect(stages.production.version).toBe(current);
      const holders = new Map(
        Object.entries(stages)
          .filter(([, holder]) => holder)
          .map(([stage, holder]) => [(holder as { version: string }).version, stage]),
      );
      for (const version of versions) {
        const shown = (await primary.admin.get(`/v1/models/paired/versions/${version}`)).body;
        expect([version, shown.stage]).toEqual([version, holders.get(version) ?? expect.stringMatching(/^(none|archived)$/)]);
      }
    }
    const history = (await primary.admin.get('/v1/models/paired/history')).body.items;
    const latest = new Map<string, { stage: string; action: string }>();
    for (const event of [...history].reverse()) latest.set(event.version, event);
    const stages = (await primary.admin.get('/v1/models/paired/stages')).body.stages;
    for (const [stage, holder] of Object.entries(stages)) {
      if (holder) expect(latest.get((holder as { version: string }).version)).toMatchObject({ stage, action: 'promoted' });
    }
    expect((await replica.admin.get('/v1/audit/verify')).body.ok).toBe(true);
  });

  it("counts one decision per token when ten race on both replicas, from the policy's approver roles: admin for canary here, not for production", async () => {
    if (!replica) throw new Error('no replica: Postgres is required for this test');
    await register('2.0.0');
    expect((await request('2.0.0', 'staging')).status).toBe('completed');
    const displaced = (await primary.admin.get('/v1/models/paired/stages')).body.stages.canary.version;
    const canary = await request('2.0.0', 'canary', { trafficPercent: 10 });
    expect(canary).toMatchObject({ status: 'awaiting_approval', approverRoles: ['approver', 'admin'] });
    const servers = [primary, replica];
    const decisions = await Promise.all(Array.from({ length: 10 }, (_, index) => servers[index % 2].admin.post(`/v1/promotions/${canary.id}/approvals`, { decision: 'approve' })));
    expect(decisions.filter((response) => response.status === 200).map((response) => response.body.status)).toEqual(['completed']);
    expect(decisions.filter((response) => response.status === 409).map((response) => response.body.error)).toEqual(Array(9).fill('already_decided'));
    expect((await primary.admin.get(`/v1/promotions/${canary.id}`)).body.decisions).toHaveLength(1);
    // The canary it displaced never served in production: validated again, not archived.
    expect((await primary.admin.get(`/v1/models/paired/versions/${displaced}`)).body.stage).toBe('none');

    const production = await request('2.0.0', 'production');
    expect(production).toMatchObject({ status: 'awaiting_approval', approverRoles: ['approver'] });
    const byAdmin = await replica.admin.post(`/v1/promotions/${production.id}/approvals`, { decision: 'approve' });
    expect([byAdmin.status, byAdmin.body.error, byAdmin.body.details.allowed]).toEqual([403, 'role_required', ['approver']]);
    expect((await clients['approver-a'].post(`/v1/promotions/${production.id}/approvals`, { decision: 'approve' })).body.status).toBe('completed');
  });
});
