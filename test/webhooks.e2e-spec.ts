import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { registerVersion } from './support/model-registration';
import { OpenApiContract } from './support/openapi';
import { startRegistry, startReplica, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const model = standardFixtures().classifier.model;
const SECRET = 'whsec_test_0123456789abcdef';

interface Receipt {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: any;
  /** Whether Gatehouse-Signature verified against SECRET, as a receiver would check it. */
  signed: boolean;
}

/** The receiver side of README "Webhooks": recompute the HMAC over "<t>.<raw body>" and compare in constant time. */
function verifySignature(header: string | undefined, rawBody: string, secret: string): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((part) => part.split('=', 2) as [string, string]));
  if (!parts.t || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) && Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
}

/**
 * A loopback HTTP receiver: records every request with its raw body and
 * whether its signature verified, and answers each path as told: a list of
 * statuses to answer in turn (the last one from then on).
 */
class Receiver {
  readonly receipts: Receipt[] = [];
  private readonly answers = new Map<string, number[]>();
  /** Paths whose requests wait unanswered, and the answers they wait for. */
  private readonly held = new Map<string, (() => void)[]>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const path = request.url ?? '/';
        this.receipts.push({
          path,
          headers: request.headers,
          rawBody,
          body: JSON.parse(rawBody),
          signed: verifySignature(request.headers['gatehouse-signature'] as string, rawBody, SECRET),
        });
        const planned = this.answers.get(path) ?? [204];
        const status = planned.length > 1 ? planned.shift()! : planned[0];
        const answer = () => {
          response.statusCode = status;
          response.end();
        };
        const held = this.held.get(path);
        if (held) held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(path: string, ...statuses: number[]): void {
    this.answers.set(path, statuses);
  }

  /** Leaves requests to `path` unanswered until {@link release}. */
  hold(path: string): void {
    this.held.set(path, []);
  }

  release(path: string): void {
    for (const answer of this.held.get(path) ?? []) answer();
    this.held.delete(path);
  }

  at(path: string, predicate: (receipt: Receipt) => boolean = () => true): Receipt[] {
    return this.receipts.filter((receipt) => receipt.path === path && predicate(receipt));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const register = (client: ApiClient, name: string, version: string) =>
  registerVersion(client, { model: name, version, task: model.task, files: { 'model.onnx': model.bytes }, schema: model.schema });

const subscribe = async (admin: ApiClient, url: string, events: string[]): Promise<string> => {
  const created = await admin.post('/v1/webhooks', { url, events, secret: SECRET });
  if (created.status !== 201) throw new Error(`subscribing: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id;
};

const deliveriesOf = async (admin: ApiClient, webhookId: string, query = ''): Promise<any[]> => {
  const page = await admin.get(`/v1/webhooks/${webhookId}/deliveries${query}`);
  expect(page.status).toBe(200);
  return page.body.items;
};

/** Webhooks through HTTP on a real registry: subscriptions, signed deliveries a loopback receiver verifies, retries, dead letters, replay and test. */
describe('webhooks (embedded)', () => {
  let registry: TestRegistry;
  let receiver: Receiver;
  let engineer: ApiClient;
  let contract: OpenApiContract;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    registry = await startRegistry('embedded', {
      GATE_WORKERS: '1',
      GATE_POLL_MS: '50',
      WEBHOOK_POLL_MS: '20',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_TIMEOUT_MS: '2000',
    });
    contract = await OpenApiContract.of(registry.admin);
    engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
  });
  afterAll(async () => {
    await registry?.close();
    await receiver?.stop();
  });

  it('refuses a bad URL, a short secret and unknown events with 400s that say what to send', async () => {
    const create = (body: object) => registry.admin.post('/v1/webhooks', { url: `${receiver.url}/x`, events: ['*'], secret: SECRET, ...body });
    for (const url of ['ftp://example.com/hook', 'not a url', 'file:///etc/passwd']) {
      const refused = await create({ url });
      expect([refused.status, refused.body.error]).toEqual([400, 'validation_failed']);
      expect(refused.body.message).toContain('url must be an http:// or https:// URL');
    }
    const short = await create({ secret: 'too-short' });
    expect([short.status, short.body.message]).toEqual([400, expect.stringContaining('secret must be at least 16 characters')]);
    const none = await create({ events: [] });
    expect([none.status, none.body.message]).toEqual([400, expect.stringContaining('events must name at least one event')]);
    const unknown = await create({ events: ['version.committed', 'gate.passd', 'model.*'] });
    expect([unknown.status, unknown.body.error]).toEqual([400, 'unknown_webhook_event']);
    expect(unknown.body.message).toContain('"gate.passd", "model.*" are not events');
    for (const named of ['version.committed', 'gate.failed', 'promotion.completed', 'stage.rolled_back', 'alert.<name>', 'gate.*']) expect(unknown.body.message).toContain(named);
    expect(unknown.body.details.unknown).toEqual(['gate.passd', 'model.*']);
    expect((await registry.admin.get('/v1/webhooks')).body).toEqual([]);
  });

  it('is for admins only: another role gets 403 on every route', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['post', '/v1/webhooks'],
      ['get', '/v1/webhooks'],
      ['get', `/v1/webhooks/${id}`],
      ['patch', `/v1/webhooks/${id}`],
      ['delete', `/v1/webhooks/${id}`],
      ['get', `/v1/webhooks/${id}/deliveries`],
      ['post', `/v1/webhooks/${id}/test`],
      ['post', `/v1/webhook-deliveries/${id}/replay`],
    ] as const) {
      const body = { url: `${receiver.url}/x`, events: ['*'], secret: SECRET };
      const response = method === 'post' ? await engineer.post(path, body) : method === 'patch' ? await engineer.patch(path, { active: false }) : await engineer[method](path);
      expect([method, path, response.status]).toEqual([method, path, 403]);
    }
  });

  it('delivers a committed version and its gate outcome, signed, with their event ids and audit seqs', async () => {
    const webhookId = await subscribe(registry.admin, `${receiver.url}/lifecycle`, ['version.committed', 'gate.*']);
    const created = await registry.admin.get(`/v1/webhooks/${webhookId}`);
    expect(created.body).toMatchObject({ id: webhookId, url: `${receiver.url}/lifecycle`, events: ['version.committed', 'gate.*'], active: true, createdBy: 'admin' });
    contract.check('get', '/v1/webhooks/{id}', created);
    expect(JSON.stringify(created.body)).not.toContain(SECRET);
    expect(JSON.stringify((await registry.admin.get('/v1/webhooks')).body)).not.toContain(SECRET);

    expect((await register(engineer, 'hooked', '1.0.0')).status).toBe(200);
    const [committed] = await until(async () => nonEmpty(receiver.at('/lifecycle', (r) => r.body.type === 'version.committed' && r.body.subject === 'version:hooked@1.0.0')));
    const [gated] = await until(async () => nonEmpty(receiver.at('/lifecycle', (r) => r.body.type.startsWith('gate.') && r.body.subject === 'version:hooked@1.0.0')), 60_000);

    for (const receipt of [committed, gated]) {
      expect(receipt.signed).toBe(true);
      expect(receipt.headers['content-type']).toBe('application/json');
      expect(receipt.headers['gatehouse-event']).toBe(receipt.body.type);
      expect(receipt.headers['gatehouse-event-id']).toBe(receipt.body.id);
      expect(receipt.headers['gatehouse-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(Object.keys(receipt.body)).toEqual(['id', 'type', 'occurredAt', 'actor', 'subject', 'data', 'auditSeq']);
      const [audited] = (await registry.admin.get(`/v1/audit?action=${receipt.body.type}&subject=version:hooked@1.0.0`)).body.items;
      expect(receipt.body.auditSeq).toBe(audited.seq);
      expect(receipt.body.occurredAt).toBe(audited.occurredAt);
      expect(receipt.body.data).toEqual(audited.payload);
    }
    expect(committed.body.actor).toBe('engineer');
    expect(gated.body.actor).toBe('gatehouse:gate-worker');
    // Audited actions that are not lifecycle events (the version declared, its file uploaded, this subscription created) never go out.
    expect(receiver.receipts.some((r) => ['version.declared', 'version.file_uploaded', 'webhook.created', 'model.created'].includes(r.body.type))).toBe(false);

    const history = await until(async () => {
      const deliveries = await registry.admin.get(`/v1/webhooks/${webhookId}/deliveries`);
      return deliveries.body.items.length === 2 && deliveries.body.items.every((d: any) => d.status === 'delivered') ? deliveries : undefined;
    });
    contract.check('get', '/v1/webhooks/{id}/deliveries', history);
    expect(history.body.items.map((d: any) => d.event.type)).toEqual([gated.body.type, 'version.committed']);
    const delivered = history.body.items[1];
    expect(delivered).toMatchObject({ id: committed.headers['gatehouse-delivery'], webhookId, status: 'delivered', nextAttemptAt: null, event: committed.body });
    expect(delivered.attempts).toEqual([{ attemptedAt: expect.any(String), durationMs: expect.any(Number), statusCode: 204, error: null }]);

    const [audit] = (await registry.admin.get(`/v1/audit?action=webhook.created&subject=webhook:${webhookId}`)).body.items;
    // The audit log, which readers read, names only where a receiver is: a hook URL's path may be its credential.
    expect(audit.payload.receiver).toBe(receiver.url);
  });

  it('retries a receiver that fails, with the same event, and records each attempt', async () => {
    receiver.answer('/flaky', 500, 502, 200);
    const webhookId = await subscribe(registry.admin, `${receiver.url}/flaky`, ['version.*']);
    expect((await register(engineer, 'hooked', '1.1.0')).status).toBe(200);
    const [delivery] = await until(async () =>
      nonEmpty((await deliveriesOf(registry.admin, webhookId, '?status=delivered')).filter((d) => d.event.subject === 'version:hooked@1.1.0')),
    );
    expect(delivery.attempts.map((a: any) => [a.statusCode, a.error])).toEqual([
      [500, 'the receiver answered 500'],
      [502, 'the receiver answered 502'],
      [200, null],
    ]);
    const receipts = receiver.at('/flaky');
    expect(receipts).toHaveLength(3);
    expect(new Set(receipts.map((r) => r.body.id))).toEqual(new Set([delivery.event.id]));
    expect(new Set(receipts.map((r) => r.rawBody)).size).toBe(1);
    expect(receipts.every((r) => r.signed && r.headers['gatehouse-delivery'] === delivery.id)).toBe(true);
  });

  it('ends a delivery dead after its last attempt, lists it as a dead letter, and replays it', async () => {
    receiver.answer('/down', 503);
    const webhookId = await subscribe(registry.admin, `${receiver.url}/down`, ['version.committed']);
    expect((await register(engineer, 'hooked', '1.2.0')).status).toBe(200);
    const [dead] = await until(async () => nonEmpty(await deliveriesOf(registry.admin, webhookId, '?status=dead')));
    expect(dead.event).toMatchObject({ type: 'version.committed', subject: 'version:hooked@1.2.0' });
    expect(dead.attempts.map((a: any) => a.statusCode)).toEqual([503, 503, 503]);
    expect(await deliveriesOf(registry.admin, webhookId, '?status=pending')).toEqual([]);

    receiver.answer('/down', 200);
    const replayed = await registry.admin.post(`/v1/webhook-deliveries/${dead.id}/replay`);
    expect(replayed.status).toBe(200);
    contract.check('post', '/v1/webhook-deliveries/{id}/replay', replayed);
    const [delivered] = await until(async () => nonEmpty(await deliveriesOf(registry.admin, webhookId, '?status=delivered')));
    expect(delivered.id).toBe(dead.id);
    expect(delivered.attempts.map((a: any) => a.statusCode)).toEqual([503, 503, 503, 200]);
    expect(await deliveriesOf(registry.admin, webhookId, '?status=dead')).toEqual([]);
    expect(new Set(receiver.at('/down').map((r) => r.body.id))).toEqual(new Set([dead.event.id]));
    const [audit] = (await registry.admin.get(`/v1/audit?action=webhook.delivery_replayed&subject=webhook:${webhookId}`)).body.items;
    expect(audit.payload).toMatchObject({ deliveryId: dead.id, eventId: dead.event.id });

    // A delivered delivery replays too; while it is being tried (its receiver has not answered yet), it cannot be replayed again.
    receiver.hold('/down');
    expect((await registry.admin.post(`/v1/webhook-deliveries/${dead.id}/replay`)).body.status).toBe('pending');
    await until(async () => (receiver.at('/down').length === 5 ? true : undefined));
    const pending = await registry.admin.post(`/v1/webhook-deliveries/${dead.id}/replay`);
    expect([pending.status, pending.body.error]).toEqual([409, 'webhook_delivery_pending']);
    expect(pending.body.message).toContain('only dead or delivered deliveries can be replayed');
    receiver.release('/down');
    const [again] = await until(async () => nonEmpty(await deliveriesOf(registry.admin, webhookId, '?status=delivered')));
    expect(again.attempts.map((a: any) => a.statusCode)).toEqual([503, 503, 503, 200, 200]);

    const unknown = await registry.admin.post('/v1/webhook-deliveries/00000000-0000-4000-8000-000000000000/replay');
    expect([unknown.status, unknown.body.error]).toEqual([404, 'webhook_delivery_not_found']);
  });

  it('sends a test event to one subscription now and answers with the attempt, which its history keeps', async () => {
    receiver.answer('/test', 202);
    const webhookId = await subscribe(registry.admin, `${receiver.url}/test`, ['stage.rolled_back']);
    const tested = await registry.admin.post(`/v1/webhooks/${webhookId}/test`);
    expect(tested.status).toBe(200);
    contract.check('post', '/v1/webhooks/{id}/test', tested);
    expect(tested.body).toMatchObject({
      delivered: true,
      attempt: { statusCode: 202, error: null },
      delivery: { status: 'delivered', event: { type: 'webhook.test', auditSeq: null } },
    });
    const [receipt] = receiver.at('/test');
    expect(receipt.signed).toBe(true);
    expect(receipt.body).toEqual(tested.body.delivery.event);
    expect(receiver.receipts.filter((r) => r.body.type === 'webhook.test')).toHaveLength(1);
    expect((await deliveriesOf(registry.admin, webhookId)).map((d) => d.id)).toEqual([tested.body.delivery.id]);

    // Nothing listens here: the attempt says why, and a test is not retried.
    const closed = new Receiver();
    await closed.start();
    await closed.stop();
    const unreachable = await subscribe(registry.admin, `${closed.url}/gone`, ['*']);
    const failed = await registry.admin.post(`/v1/webhooks/${unreachable}/test`);
    expect(failed.body).toMatchObject({ delivered: false, attempt: { statusCode: null, error: expect.stringContaining('ECONNREFUSED') }, delivery: { status: 'dead' } });
    expect((await registry.admin.delete(`/v1/webhooks/${unreachable}`)).status).toBe(200);
  });

  it('writes no event for an action that rolls back', async () => {
    const webhookId = await subscribe(registry.admin, `${receiver.url}/atomic`, ['version.committed']);
    // The commit's transaction fails after it audited the commit: queueing its registration gate is refused.
    await registry.sql(`CREATE FUNCTION refuse_gate_runs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'gate queue refused by the test'; END $$`);
    await registry.sql('CREATE TRIGGER refuse_gate_runs BEFORE INSERT ON gate_runs FOR EACH ROW EXECUTE FUNCTION refuse_gate_runs()');
    try {
      expect((await register(engineer, 'atomic', '1.0.0')).status).toBe(500);
    } finally {
      await registry.sql('DROP TRIGGER refuse_gate_runs ON gate_runs');
      await registry.sql('DROP FUNCTION refuse_gate_runs()');
    }
    expect((await registry.admin.get('/v1/models/atomic/versions/1.0.0')).body.status).toBe('pending_upload');
    expect(await registry.sql(`SELECT id FROM outbox_events WHERE subject = 'version:atomic@1.0.0'`)).toEqual([]);
    expect((await registry.admin.get('/v1/audit?action=version.committed&subject=version:atomic@1.0.0')).body.items).toEqual([]);

    // Committed for real, it is one event, delivered once; the failed try left nothing behind to deliver.
    expect((await engineer.post('/v1/models/atomic/versions/1.0.0/commit', {})).status).toBe(200);
    const [delivery] = await until(async () => nonEmpty(await deliveriesOf(registry.admin, webhookId, '?status=delivered')));
    expect(delivery.event.subject).toBe('version:atomic@1.0.0');
    expect(await deliveriesOf(registry.admin, webhookId)).toHaveLength(1);
    expect(receiver.at('/atomic')).toHaveLength(1);
    expect(await registry.sql(`SELECT id FROM outbox_events WHERE subject = 'version:atomic@1.0.0'`)).toHaveLength(1);
  });

  it('changes, pauses and deletes a subscription, each audited', async () => {
    const webhookId = await subscribe(registry.admin, `${receiver.url}/paused`, ['version.committed']);
    const bad = await registry.admin.patch(`/v1/webhooks/${webhookId}`, { events: ['version.comitted'] });
    expect([bad.status, bad.body.error]).toEqual([400, 'unknown_webhook_event']);
    const paused = await registry.admin.patch(`/v1/webhooks/${webhookId}`, { active: false, events: ['version.*'], description: 'paused for maintenance' });
    expect(paused.status).toBe(200);
    contract.check('patch', '/v1/webhooks/{id}', paused);
    expect(paused.body).toMatchObject({ active: false, events: ['version.*'], description: 'paused for maintenance' });
    expect((await register(engineer, 'hooked', '1.3.0')).status).toBe(200);
    // A delivery made to the other subscriptions shows the event was out; the paused one got none.
    await until(async () => nonEmpty(receiver.at('/lifecycle', (r) => r.body.subject === 'version:hooked@1.3.0')));
    expect(await deliveriesOf(registry.admin, webhookId)).toEqual([]);

    const [updated] = (await registry.admin.get(`/v1/audit?action=webhook.updated&subject=webhook:${webhookId}`)).body.items;
    expect(updated.payload).toEqual({ changed: ['events', 'description', 'active'], events: { from: ['version.committed'], to: ['version.*'] }, active: false });
    expect((await registry.admin.patch(`/v1/webhooks/${webhookId}`, { secret: 'a-new-secret-of-enough-length' })).status).toBe(200);
    const [rotated] = (await registry.admin.get(`/v1/audit?action=webhook.updated&subject=webhook:${webhookId}`)).body.items;
    expect(rotated.payload).toEqual({ changed: ['secret'] });

    const deleted = await registry.admin.delete(`/v1/webhooks/${webhookId}`);
    expect([deleted.status, deleted.body.id]).toEqual([200, webhookId]);
    contract.check('delete', '/v1/webhooks/{id}', deleted);
    const gone = await registry.admin.get(`/v1/webhooks/${webhookId}`);
    expect([gone.status, gone.body.error]).toEqual([404, 'webhook_not_found']);
    expect((await registry.admin.get(`/v1/audit?action=webhook.deleted&subject=webhook:${webhookId}`)).body.items).toHaveLength(1);
    expect((await registry.admin.get('/v1/webhooks/not-a-uuid')).status).toBe(400);
  });

  it('pages the history newest first, and takes over an attempt whose replica died holding it', async () => {
    const [lifecycle] = (await registry.admin.get('/v1/webhooks')).body.filter((w: any) => w.url === `${receiver.url}/lifecycle`);
    const whole = await deliveriesOf(registry.admin, lifecycle.id, '?limit=100');
    expect(whole.length).toBeGreaterThan(3);
    const paged: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await registry.admin.get(`/v1/webhooks/${lifecycle.id}/deliveries?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).body;
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    // Gates of earlier tests may still be finishing: their deliveries, newer than the whole list, can only come first.
    const listed = new Set(whole.map((d) => d.id));
    expect(paged.filter((d) => listed.has(d.id)).map((d) => d.id)).toEqual(whole.map((d) => d.id));
    expect(paged.slice(paged.length - whole.length).map((d) => d.id)).toEqual(whole.map((d) => d.id));
    expect(whole.map((d) => Date.parse(d.createdAt))).toEqual([...whole.map((d) => Date.parse(d.createdAt))].sort((a, b) => b - a));
    const bad = await registry.admin.get(`/v1/webhooks/${lifecycle.id}/deliveries?cursor=not-a-cursor`);
    expect([bad.status, bad.body.error]).toEqual([400, 'invalid_cursor']);
    expect((await registry.admin.get(`/v1/webhooks/${lifecycle.id}/deliveries?status=lost`)).status).toBe(400);

    // As a replica that claimed it and died would leave it: pending, its lease lapsed, the attempt never recorded.
    // A delivery that is done, so that no attempt of this replica's own is still on its way to being recorded.
    const taken = whole.find((delivery) => delivery.status === 'delivered')!;
    await registry.sql(
      `UPDATE webhook_deliveries SET status = 'pending', delivered_at = NULL, attempts = 1, lease_owner = 'a-replica-that-died', lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [taken.id],
    );
    const before = receiver.at('/lifecycle', (r) => r.headers['gatehouse-delivery'] === taken.id).length;
    const retaken = await until(async () => {
      const [delivery] = (await deliveriesOf(registry.admin, lifecycle.id, '?limit=100')).filter((d) => d.id === taken.id);
      return delivery.status === 'delivered' ? delivery : undefined;
    });
    expect(retaken.attempts).toHaveLength(taken.attempts.length + 1);
    expect(receiver.at('/lifecycle', (r) => r.headers['gatehouse-delivery'] === taken.id)).toHaveLength(before + 1);
  });

  it('drives subscriptions, tests, deliveries and replays from the CLI', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'gatehouse-webhooks-cli-'));
    const cli = (...argv: string[]) =>
      runCaptured(argv, { HOME: workDir, GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: registry.adminToken }, workDir);
    try {
      const refused = await cli('webhooks', 'add', `${receiver.url}/cli`, '--event', 'gate.passd');
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('unknown_webhook_event')]);

      const added = await cli('webhooks', 'add', `${receiver.url}/cli`, '--event', 'stage.*', '--event', 'version.committed', '--description', 'from the CLI');
      expect(added.code).toBe(0);
      const [, id] = /created webhook (\S+)/.exec(added.stdout)!;
      const [, secret] = /shown only now:\n(whsec_\S+)/.exec(added.stdout)!;
      expect(secret.length).toBeGreaterThanOrEqual(16);
      expect((await cli('webhooks', 'list')).stdout).toContain(`${receiver.url}/cli`);
      expect((await cli('webhooks', 'show', id)).stdout).toMatch(/events:\s+stage\.\*, version\.committed/);

      receiver.answer('/cli', 500);
      const failed = await cli('webhooks', 'test', id);
      expect([failed.code, failed.stdout]).toEqual([1, expect.stringContaining('not delivered: the receiver answered 500')]);
      // Signed with the secret the CLI generated and printed.
      const [receipt] = receiver.at('/cli');
      expect(verifySignature(receipt.headers['gatehouse-signature'] as string, receipt.rawBody, secret)).toBe(true);

      const dead = await cli('--json', 'webhooks', 'deliveries', id, '--status', 'dead');
      const [letter] = JSON.parse(dead.stdout);
      expect(letter).toMatchObject({ status: 'dead', event: { type: 'webhook.test' } });
      receiver.answer('/cli', 200);
      expect((await cli('webhooks', 'replay', letter.id)).stdout).toContain('is queued again');
      await until(async () => nonEmpty(await deliveriesOf(registry.admin, id, '?status=delivered')));
      const table = await cli('webhooks', 'deliveries', id);
      expect(table.stdout).toMatch(new RegExp(`${letter.id}\\s+webhook\\.test\\s+webhook:${id}\\s+delivered\\s+2\\s+200`));
      expect((await cli('webhooks', 'test', id)).stdout).toMatch(/delivered: the receiver answered 200/);

      expect((await cli('webhooks', 'rm', id)).stdout).toContain(`deleted webhook ${id}`);
      expect((await cli('webhooks', 'list')).stdout).not.toContain(id);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it('counts attempts by outcome and the dead letters in /metrics', async () => {
    const text = ((await registry.admin.get('/metrics')).body as Buffer).toString('utf8');
    for (const outcome of ['delivered', 'retrying', 'dead']) expect(text).toMatch(new RegExp(`^gatehouse_webhook_deliveries_total\\{outcome="${outcome}"\\} [1-9]`, 'm'));
    // The dead letters were replayed or went with their subscription; what gates of earlier tests still send is delivered soon.
    await until(async () => {
      const now = ((await registry.admin.get('/metrics')).body as Buffer).toString('utf8');
      return /^gatehouse_webhook_backlog\{status="dead"\} 0$/m.test(now) && /^gatehouse_webhook_backlog\{status="pending"\} 0$/m.test(now) ? true : undefined;
    });
  });

  it('prunes at start the events delivered before the retention, with their history, and keeps dead letters however old', async () => {
    // Only this test's subscriptions: an event other tests' subscribers still wait for (or just got) is rightly kept.
    for (const webhook of (await registry.admin.get('/v1/webhooks')).body) expect((await registry.admin.delete(`/v1/webhooks/${webhook.id}`)).status).toBe(200);
    receiver.answer('/kept', 200);
    receiver.answer('/refusing', 503);
    const deliveredTo = await subscribe(registry.admin, `${receiver.url}/kept`, ['version.committed']);
    const refusedBy = await subscribe(registry.admin, `${receiver.url}/refusing`, ['gate.*']);
    for (const version of ['1.0.0', '1.1.0']) expect((await register(engineer, 'pruned', version)).status).toBe(200);
    const delivered = await until(async () => {
      const made = await deliveriesOf(registry.admin, deliveredTo, '?status=delivered');
      return made.length === 2 ? Object.fromEntries(made.map((delivery) => [delivery.event.subject, delivery])) : undefined;
    });
    const [dead] = await until(async () => nonEmpty(await deliveriesOf(registry.admin, refusedBy, '?status=dead')), 60_000);
    // Past the 30 days kept by default: what a registry that ran for a month holds. 1.1.0's event was
    // delivered just now (a replay, say): it keeps its history as long as a new one would.
    await registry.sql(`UPDATE outbox_events SET occurred_at = now() - interval '31 days' WHERE subject LIKE 'version:pruned@%'`);
    await registry.sql(`UPDATE webhook_deliveries SET delivered_at = now() - interval '31 days' WHERE id = $1`, [delivered['version:pruned@1.0.0'].id]);
    const eventsOf = async (id: string) => (await registry.sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox_events WHERE id = $1', [id]))[0].n;

    await registry.restart();
    await until(async () => ((await eventsOf(delivered['version:pruned@1.0.0'].event.id)) === 0 ? true : undefined));
    expect((await deliveriesOf(registry.admin, deliveredTo)).map((delivery) => delivery.id)).toEqual([delivered['version:pruned@1.1.0'].id]);
    expect(await eventsOf(dead.event.id)).toBe(1);
    expect(await deliveriesOf(registry.admin, refusedBy, '?status=dead')).toEqual(expect.arrayContaining([expect.objectContaining({ id: dead.id })]));
    receiver.answer('/refusing', 200);
    expect((await registry.admin.post(`/v1/webhook-deliveries/${dead.id}/replay`)).status).toBe(200);
    await until(async () => nonEmpty((await deliveriesOf(registry.admin, refusedBy, '?status=delivered')).filter((delivery) => delivery.id === dead.id)));
  });
});

/** Two replicas on one Postgres share the deliveries: each attempt is made by one of them, never both. */
describe('webhooks across replicas (postgres)', () => {
  let primary: TestRegistry;
  let replica: TestRegistry | undefined;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    const env = { WEBHOOK_POLL_MS: '10', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_MAX_ATTEMPTS: '5', WEBHOOK_TIMEOUT_MS: '2000' };
    primary = await startRegistry('postgres+s3', env);
    replica = await startReplica(primary, env);
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
    await receiver?.stop();
  });

  it('delivers each event once per attempt', async () => {
    if (!replica) return; // Embedded PGlite (no Postgres here): one process owns it, so there is no second replica to race.
    receiver.answer('/shared', 500, 200);
    const webhookId = await subscribe(primary.admin, `${receiver.url}/shared`, ['version.committed']);
    const versions = Array.from({ length: 8 }, (_, index) => `2.0.${index}`);
    for (const [index, version] of versions.entries()) expect((await register(index % 2 ? replica.admin : primary.admin, 'shared', version)).status).toBe(200);
    const delivered = await until(async () => {
      const items = await deliveriesOf(primary.admin, webhookId, '?status=delivered&limit=100');
      return items.length === versions.length ? items : undefined;
    }, 60_000);
    // The receiver failed its first request only: one failed attempt, then each event once per attempt.
    const receipts = receiver.at('/shared');
    const perDelivery = new Map<string, number>();
    for (const receipt of receipts) perDelivery.set(receipt.headers['gatehouse-delivery'] as string, (perDelivery.get(receipt.headers['gatehouse-delivery'] as string) ?? 0) + 1);
    expect(receipts).toHaveLength(versions.length + 1);
    for (const delivery of delivered) expect(perDelivery.get(delivery.id)).toBe(delivery.attempts.length);
    expect(delivered.reduce((sum, delivery) => sum + delivery.attempts.length, 0)).toBe(versions.length + 1);
    expect(new Set(receipts.map((r) => r.body.id)).size).toBe(versions.length);
    expect(receipts.every((r) => r.signed)).toBe(true);
    // Each replica counts the attempts it made: between them, every attempt once.
    const counted = async (registry: TestRegistry, outcome: string) => {
      const text = ((await registry.admin.get('/metrics')).body as Buffer).toString('utf8');
      return Number(new RegExp(`^gatehouse_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    expect((await counted(primary, 'delivered')) + (await counted(replica, 'delivered'))).toBe(versions.length);
    expect((await counted(primary, 'retrying')) + (await counted(replica, 'retrying'))).toBe(1);
  });
});

function nonEmpty<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}
