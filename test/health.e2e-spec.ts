import { startRegistry, type TestRegistry } from './support/registry';

describe('health when the blob store goes away (postgres+s3)', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry('postgres+s3');
  });
  afterAll(() => registry?.close());

  it('answers 503 naming the blob store, and 200 again once it is back', async () => {
    expect((await registry.anonymous.get('/health')).status).toBe(200);
    await registry.s3!.pause();
    const down = await registry.anonymous.get('/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', database: { ok: true }, blobStore: { kind: 's3', ok: false } });
    await registry.s3!.resume();
    expect((await registry.anonymous.get('/health')).status).toBe(200);
  });
});
