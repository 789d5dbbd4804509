import { startRegistry, type TestRegistry } from './support/registry';

describe('auth and health (embedded)', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry('embedded');
  });
  afterAll(() => registry?.close());

  it('reports the database and blob store in /health without a token', async () => {
    const response = await registry.anonymous.get('/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok', database: { ok: true }, blobStore: { kind: 'filesystem', ok: true } });
  });

  it('serves the OpenAPI document at /docs', async () => {
    const page = await registry.anonymous.get('/docs');
    expect(page.status).toBe(200);
    const spec = await registry.anonymous.get('/docs/openapi.json');
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/v1/tokens', '/health']));
  });

  it('answers 401 without a token and with an unknown one', async () => {
    const missing = await registry.anonymous.get('/v1/tokens/current');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ statusCode: 401, error: 'token_missing', message: expect.any(String) });
    const unknown = await registry.anonymous.withToken('gh_not-a-real-token').get('/v1/tokens/current');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('token_invalid');
  });

  it('mints a token once, stores only its hash, enforces roles and honours revocation', async () => {
    const minted = await registry.admin.post('/v1/tokens', { name: 'reader-bot', roles: ['reader'] });
    expect(minted.status).toBe(201);
    expect(minted.body.token).toMatch(/^gh_/);
    const reader = registry.anonymous.withToken(minted.body.token);

    expect((await reader.get('/v1/tokens/current')).body).toMatchObject({ name: 'reader-bot', roles: ['reader'] });
    const forbidden = await reader.post('/v1/tokens', { name: 'escalate', roles: ['admin'] });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe('role_required');

    const listed = await registry.admin.get('/v1/tokens');
    expect(JSON.stringify(listed.body)).not.toContain(minted.body.token);
    const listedReader = listed.body.find((t: { name: string }) => t.name === 'reader-bot');
    expect(listedReader.lastUsedAt).not.toBeNull();

    const duplicate = await registry.admin.post('/v1/tokens', { name: 'reader-bot', roles: ['reader'] });
    expect(duplicate.status).toBe(409);

    expect((await registry.admin.post(`/v1/tokens/${minted.body.id}/revoke`)).status).toBe(200);
    expect((await reader.get('/v1/tokens/current')).status).toBe(401);
  });

  it('rejects a malformed token request field by field', async () => {
    const response = await registry.admin.post('/v1/tokens', { name: '', roles: ['wizard'], extra: 1 });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('validation_failed');
    const fields = response.body.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'roles', 'extra']));
  });

  it('rejects a body that is not JSON with 400', async () => {
    const response = await registry.admin.request('POST', '/v1/tokens', '{"name":', { 'content-type': 'application/json' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_json');
  });
});
