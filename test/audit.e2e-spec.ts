import { startRegistry, startReplica, type TestRegistry } from './support/registry';
import type { ApiClient } from './support/api-client';

describe('audit log (postgres+s3)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;

  beforeAll(async () => {
    registry = await startRegistry('postgres+s3');
    engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'eve', roles: ['ml_engineer'] })).body.token);
  });
  afterAll(() => registry?.close());

  it('records every change in the same transaction, attributed to the token that made it', async () => {
    await engineer.post('/v1/models', { name: 'audited', owner: 'risk' });
    await engineer.post('/v1/models/audited/versions', { version: '1.0.0', task: 'other' });
    await engineer.put('/v1/models/audited/versions/1.0.0/files/m.bin', Buffer.from('weights'));
    await engineer.post('/v1/models/audited/versions/1.0.0/commit', {});
    // A refused change leaves no event.
    expect((await engineer.post('/v1/models/audited/versions/1.0.0/commit', {})).status).toBe(409);

    const events = await registry.admin.get('/v1/audit?model=audited');
    expect(events.status).toBe(200);
    expect(events.body.items.map((e: { action: string; subject: string; actor: string }) => [e.action, e.subject, e.actor])).toEqual([
      // Committing queues the registration gate in the same transaction.
      ['gate.queued', 'version:audited@1.0.0', 'eve'],
      ['version.committed', 'version:audited@1.0.0', 'eve'],
      ['version.file_uploaded', 'version:audited@1.0.0', 'eve'],
      ['version.declared', 'version:audited@1.0.0', 'eve'],
      ['model.created', 'model:audited', 'eve'],
    ]);
    expect(events.body.items[1].payload).toMatchObject({ fileCount: 1, format: 'other', manifestDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const minted = await registry.admin.get('/v1/audit?action=token.minted&actor=admin');
    expect(minted.body.items.map((e: { subject: string }) => e.subject)).toContain('token:eve');
    const bootstrap = await registry.admin.get('/v1/audit?subject=token:admin');
    expect(bootstrap.body.items[0]).toMatchObject({ actor: 'system', action: 'token.minted', payload: { bootstrap: true } });
  });

  it('pages newest first and filters by time', async () => {
    const all = (await registry.admin.get('/v1/audit?limit=500')).body.items;
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { seq: number }[]; nextCursor: string | null } } = await registry.admin.get(`/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((e) => e.seq));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e: { seq: number }) => e.seq));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect((await registry.admin.get(`/v1/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.items).toEqual([]);
    expect((await registry.admin.get('/v1/audit?since=yesterday')).status).toBe(400);
    expect((await registry.admin.get('/v1/audit?cursor=abc')).status).toBe(400);
  });

  it('verifies the chain, and names the first event edited or deleted directly in the database', async () => {
    expect((await registry.admin.get('/v1/audit/verify')).body).toMatchObject({ ok: true });
    const [target] = await registry.sql<{ seq: string; payload: unknown }>(
      `SELECT seq, payload FROM audit_events WHERE action = 'version.declared' AND subject = 'version:audited@1.0.0'`,
    );
    const seq = Number(target.seq);

    await registry.sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = $1`, [seq]);
    const edited = await registry.admin.get('/v1/audit/verify');
    expect(edited.body).toMatchObject({ ok: false, firstBrokenSeq: seq, reason: expect.stringContaining('altered') });
    await registry.sql(`UPDATE audit_events SET actor = 'eve' WHERE seq = $1`, [seq]);
    expect((await registry.admin.get('/v1/audit/verify')).body.ok).toBe(true);

    const [row] = await registry.sql('SELECT * FROM audit_events WHERE seq = $1', [seq]);
    await registry.sql('DELETE FROM audit_events WHERE seq = $1', [seq]);
    const deleted = await registry.admin.get('/v1/audit/verify');
    expect(deleted.body).toMatchObject({ ok: false, firstBrokenSeq: seq, reason: expect.stringContaining('missing') });
    await registry.sql('INSERT INTO audit_events (seq, occurred_at, actor, action, subject, payload, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', [
      row.seq,
      row.occurred_at,
      row.actor,
      row.action,
      row.subject,
      row.payload,
      row.prev_hash,
      row.hash,
    ]);
    expect((await registry.admin.get('/v1/audit/verify')).body.ok).toBe(true);

    const [last] = await registry.sql<{ seq: string }>('SELECT max(seq) AS seq FROM audit_events');
    await registry.sql('DELETE FROM audit_events WHERE seq = $1', [last.seq]);
    expect((await registry.admin.get('/v1/audit/verify')).body).toMatchObject({ ok: false, firstBrokenSeq: Number(last.seq) });
  });
});

describe('audit log across two replicas (postgres+s3)', () => {
  let primary: TestRegistry;
  let replica: TestRegistry | undefined;

  beforeAll(async () => {
    primary = await startRegistry('postgres+s3');
    replica = await startReplica(primary);
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
  });

  it('keeps one linear, verifiable chain when both append at once', async () => {
    if (!replica) {
      process.stderr.write('No Postgres: the replica test needs a shared database and cannot run on embedded PGlite.\n');
      return;
    }
    const before = (await primary.admin.get('/v1/audit/verify')).body.checked;
    const created = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? primary : replica!).admin.post('/v1/models', { name: `concurrent-${i}` })));
    expect(created.every((r) => r.status === 201)).toBe(true);
    const verification = (await replica.admin.get('/v1/audit/verify')).body;
    expect(verification).toMatchObject({ ok: true, checked: before + 40 });
    const seqs = (await primary.sql<{ seq: string }>('SELECT seq FROM audit_events ORDER BY seq')).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});
