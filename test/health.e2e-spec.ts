import { startRegistry, type TestRegistry } from './support/registry';

describe('health when the blob store goes away (postgres+s3)', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry('postgres+s3');
  });
  afterAll(() => registry?.close());

  it('answers 503 naming the blob store, refuses uploads with 503, and recovers', async () => {
    expect((await registry.anonymous.get('/health')).status).toBe(200);
    await registry.admin.post('/v1/models', { name: 'm' });
    await registry.admin.post('/v1/models/m/versions', { version: '1.0.0', task: 'other' });
    await registry.s3!.pause();
    const down = await registry.anonymous.get('/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', database: { ok: true }, blobStore: { kind: 's3', ok: false } });

    const upload = await registry.admin.put('/v1/models/m/versions/1.0.0/files/a.bin', Buffer.from('bytes'));
    expect(upload.status).toBe(503);
    expect(upload.body.error).toBe('blob_store_unavailable');
    expect((await registry.admin.get('/v1/models/m/versions/1.0.0')).body.files).toEqual([]);

    await registry.s3!.resume();
    expect((await registry.anonymous.get('/health')).status).toBe(200);
    expect((await registry.admin.put('/v1/models/m/versions/1.0.0/files/a.bin', Buffer.from('bytes'))).status).toBe(201);
  });
});
