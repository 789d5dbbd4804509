import { createHash, randomBytes } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from './support/api-client';
import { BlobInspection } from './support/blob-inspection';
import { startRegistry, startReplica, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const MAX_FILE_SIZE = 4 * 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: any;
}

/** A PUT whose body the test writes by hand: headers go out at once, bytes when the test says. */
function openUpload(baseUrl: string, token: string, path: string, contentLength: number): { request: ClientRequest; response: Promise<RawResponse>; closed: Promise<void> } {
  const url = new URL(baseUrl);
  const request = httpRequest({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(contentLength) },
  });
  const closed = new Promise<void>((resolve) => request.once('close', () => resolve()));
  const response = new Promise<RawResponse>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
  });
  request.flushHeaders();
  return { request, response, closed };
}

/** A token with the ml_engineer role, and a client holding it. */
async function mintEngineer(registry: TestRegistry): Promise<{ token: string; client: ApiClient }> {
  const token = (await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token;
  return { token, client: registry.admin.withToken(token) };
}

const write = (request: ClientRequest, bytes: Buffer) => new Promise<void>((resolve, reject) => request.write(bytes, (error) => (error ? reject(error) : resolve())));

describe('hostile input to the API (Postgres and S3)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let engineerToken: string;
  let blobs: BlobInspection;

  beforeAll(async () => {
    registry = await startRegistry('postgres+s3', { MAX_FILE_SIZE: String(MAX_FILE_SIZE) });
    blobs = new BlobInspection(registry);
    ({ token: engineerToken, client: engineer } = await mintEngineer(registry));
  });
  afterAll(() => registry?.close());

  const declare = async (model: string, version: string, extra: Record<string, unknown> = {}) => {
    const created = await engineer.post('/v1/models', { name: model });
    if (created.status !== 201 && created.status !== 409) throw new Error(`creating ${model}: ${created.status}`);
    return engineer.post(`/v1/models/${model}/versions`, { version, task: 'classification', ...extra });
  };
  const upload = (model: string, version: string, path: string, bytes = randomBytes(64)) => engineer.put(`/v1/models/${model}/versions/${version}/files/${path}`, bytes);
  const filesOf = async (model: string, version: string) =>
    ((await engineer.get(`/v1/models/${model}/versions/${version}`)).body.files as { path: string }[]).map((file) => file.path);

  describe('upload paths the gate could not materialise', () => {
    it('refuses a segment over 255 bytes in UTF-8, though it has only 128 characters', async () => {
      expect((await declare('long-names', '1.0.0')).status).toBe(201);
      const refused = await upload('long-names', '1.0.0', encodeURIComponent('é'.repeat(128)));
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ statusCode: 400, error: 'unsafe_path' });
      expect(refused.body.message).toContain('longer than 255 bytes in UTF-8');
      expect((await upload('long-names', '1.0.0', encodeURIComponent('é'.repeat(127)))).status).toBe(201);
      expect(await filesOf('long-names', '1.0.0')).toEqual(['é'.repeat(127)]);
    });

    it.each([
      ['x', 'x/y'],
      ['x/y', 'x'],
      ['model.onnx', 'model.onnx/evil.pkl'],
      ['a/b/c/d.bin', 'a/b'],
    ])('refuses %s and then %s, naming the file it conflicts with', async (first, second) => {
      const version = `1.0.${randomBytes(2).readUInt16BE()}`;
      expect((await declare('prefixes', version)).status).toBe(201);
      expect((await upload('prefixes', version, first)).status).toBe(201);
      const refused = await upload('prefixes', version, second);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'file_path_conflict', details: { path: second, conflictsWith: first } });
      // The same path again replaces it, and siblings that only share a name prefix are fine.
      expect((await upload('prefixes', version, first)).status).toBe(201);
      expect((await upload('prefixes', version, `${first}-sibling`)).status).toBe(201);
      expect((await filesOf('prefixes', version)).sort()).toEqual([first, `${first}-sibling`].sort());
    });

    it('keeps names that differ only in case or Unicode normalisation apart, as Linux does on disk', async () => {
      expect((await declare('normalisation', '1.0.0')).status).toBe(201);
      for (const path of ['\u00e9.txt', 'e\u0301.txt', 'Model.onnx', 'model.onnx']) {
        expect((await upload('normalisation', '1.0.0', encodeURIComponent(path))).status).toBe(201);
      }
      expect(await filesOf('normalisation', '1.0.0')).toHaveLength(4);
    });

    it('lets only one of `x` and `x/y` in when both race on two replicas', async () => {
      const replica = await startReplica(registry);
      if (!replica) return; // embedded PGlite has one connection: nothing can race.
      try {
        for (let round = 0; round < 5; round++) {
          const version = `2.0.${round}`;
          expect((await declare('race', version)).status).toBe(201);
          const body = randomBytes(100_000);
          const base = `/v1/models/race/versions/${version}/files`;
          const uploads = [openUpload(registry.url, engineerToken, `${base}/x`, body.length), openUpload(replica.url, engineerToken, `${base}/x/y`, body.length)];
          // Both send half their bytes, so both are past the early check before either has stored anything.
          await Promise.all(uploads.map(({ request }) => write(request, body.subarray(0, 50_000))));
          await sleep(200);
          for (const { request } of uploads) request.end(body.subarray(50_000));
          const statuses = (await Promise.all(uploads.map(({ response }) => response))).map((response) => response.status).sort();
          expect(statuses).toEqual([201, 400]);
          expect(await filesOf('race', version)).toHaveLength(1);
        }
      } finally {
        await replica.close();
      }
    });
  });

  describe('NUL characters', () => {
    beforeAll(async () => {
      expect((await declare('nul-model', '1.0.0')).status).toBe(201);
    });

    it.each([
      ['a model name in the path', '/v1/models/a%00b'],
      ['a search query', '/v1/models?search=%00'],
      ['a query key', '/v1/models?sea%00rch=x'],
      ['a version in the path', '/v1/models/nul-model/versions/1.0.0%00'],
      ['a version search', '/v1/models/nul-model/versions?search=1%00'],
      ['a resolve request', '/v1/models/a%00b/resolve'],
      ['a dataset name', '/v1/datasets/d%00/1'],
    ])('refuses %s with 400', async (_name, path) => {
      const response = await engineer.get(path);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ statusCode: 400, error: 'nul_character', message: expect.stringContaining('NUL') });
    });

    it('refuses an upload path holding a NUL', async () => {
      const response = await upload('nul-model', '1.0.0', 'a%00b.bin');
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('nul_character');
    });

    it.each([
      ['a model description', '/v1/models', { name: 'nul-described', description: 'a\u0000b' }],
      ['a version param value', '/v1/models/nul-model/versions', { version: '1.0.1', task: 'classification', params: { optimiser: 'adam\u0000' } }],
      ['a version param key', '/v1/models/nul-model/versions', { version: '1.0.2', task: 'classification', params: { ['lr\u0000']: 0.1 } }],
      ['a nested environment value', '/v1/models/nul-model/versions', { version: '1.0.3', task: 'classification', environment: { packages: [{ name: '\u0000' }] } }],
    ])('refuses a \\u0000 in %s with 400 and stores nothing', async (_name, path, body) => {
      const response = await engineer.post(path, body);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('nul_character');
    });

    it('stored none of the refused requests', async () => {
      expect((await engineer.get('/v1/models/nul-described')).status).toBe(404);
      const versions = (await engineer.get('/v1/models/nul-model/versions')).body.items.map((item: { version: string }) => item.version);
      expect(versions).toEqual(['1.0.0']);
    });
  });

  describe('deeply nested JSON', () => {
    it('refuses 400,000 levels under the body limit with 400 naming the limit, and keeps serving', async () => {
      const deep = `{"version":"1.0.0","task":"classification","params":{"p":${'['.repeat(400_000)}${']'.repeat(400_000)}}}`;
      expect(deep.length).toBeLessThan(1024 * 1024);
      const response = await engineer.request('POST', '/v1/models/nul-model/versions', deep, { 'content-type': 'application/json' });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'json_too_deep', details: { maxDepth: 64 } });
      expect(response.body.message).toContain('64 levels');
      expect((await engineer.get('/health')).status).toBe(200);
    });

    it('accepts params nested well inside the limit', async () => {
      let params: Record<string, unknown> = { leaf: 1 };
      for (let level = 0; level < 30; level++) params = { level: params };
      expect((await declare('nested', '1.0.0', { params })).status).toBe(201);
    });

    it('refuses JSON in any charset but UTF-8, which is the only one screened, with 415', async () => {
      const response = await engineer.request('POST', '/v1/models', Buffer.from(JSON.stringify({ name: 'utf16' }), 'utf16le'), {
        'content-type': 'application/json; charset=utf-16le',
      });
      expect(response.status).toBe(415);
      expect(response.body.error).toBe('unsupported_charset');
    });
  });

  describe('an oversized Content-Length', () => {
    it('is refused with 413 from the header alone, before the client sends any of the body', async () => {
      expect((await declare('oversized', '1.0.0')).status).toBe(201);
      const declared = MAX_FILE_SIZE + 1;
      const { response, closed } = openUpload(registry.url, engineerToken, '/v1/models/oversized/versions/1.0.0/files/big.bin', declared);
      // Not a byte of the body is written: the answer must come anyway, and the server closes the connection.
      const refused = await response;
      await closed;
      expect(refused.status).toBe(413);
      expect(refused.body).toEqual({
        statusCode: 413,
        error: 'file_too_large',
        message: expect.stringContaining(`is larger than MAX_FILE_SIZE (4 MiB); `),
        details: { setting: 'MAX_FILE_SIZE', maxBytes: MAX_FILE_SIZE, declaredBytes: declared },
      });
      expect(await filesOf('oversized', '1.0.0')).toEqual([]);
      expect((await blobs.keys()).filter((key) => key.startsWith('tmp/'))).toEqual([]);
    });

    it('is refused before authentication, which needs nothing from the body either', async () => {
      const { response, closed } = openUpload(registry.url, 'not-a-token', '/v1/models/oversized/versions/1.0.0/files/big.bin', 10 * MAX_FILE_SIZE);
      expect((await response).status).toBe(413);
      await closed;
    });
  });
});

describe('idle uploads (HTTP_IDLE_TIMEOUT_SECONDS=1)', () => {
  let registry: TestRegistry;
  let engineerToken: string;
  let engineer: ApiClient;
  let blobs: BlobInspection;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { HTTP_IDLE_TIMEOUT_SECONDS: '1' });
    blobs = new BlobInspection(registry);
    ({ token: engineerToken, client: engineer } = await mintEngineer(registry));
    await engineer.post('/v1/models', { name: 'slow' });
    await engineer.post('/v1/models/slow/versions', { version: '1.0.0', task: 'classification' });
  });
  afterAll(() => registry?.close());

  it('completes an upload trickled for five times the idle timeout', async () => {
    const bytes = randomBytes(25 * 1024);
    const { request, response } = openUpload(registry.url, engineerToken, '/v1/models/slow/versions/1.0.0/files/trickled.bin', bytes.length);
    for (let offset = 0; offset < bytes.length; offset += 1024) {
      await write(request, bytes.subarray(offset, offset + 1024));
      await sleep(200);
    }
    request.end();
    const uploaded = await response;
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ path: 'trickled.bin', sha256: sha256(bytes), size: bytes.length });
  });

  it('cuts an upload that stalls for longer than the idle timeout, keeping neither a file nor a temporary blob', async () => {
    const { request, response, closed } = openUpload(registry.url, engineerToken, '/v1/models/slow/versions/1.0.0/files/stalled.bin', 100_000);
    response.catch(() => undefined);
    await write(request, randomBytes(10_000));
    await until(async () => ((await blobs.keys()).some((key) => key.startsWith('tmp/')) ? true : undefined));
    // Nothing more is sent: the server, not the test, must end this.
    await closed;
    await expect(response).rejects.toThrow();
    await until(async () => ((await blobs.keys()).some((key) => key.startsWith('tmp/')) ? undefined : true), 10_000);
    const files = (await engineer.get('/v1/models/slow/versions/1.0.0')).body.files.map((file: { path: string }) => file.path);
    expect(files).not.toContain('stalled.bin');
  });

  it('removes at start the temporary blobs a crashed upload left a day ago, and keeps one still being written', async () => {
    const store = registry.config.blobStore;
    if (store.kind !== 'filesystem') throw new Error('expected the filesystem store');
    await mkdir(join(store.root, 'tmp'), { recursive: true });
    const crashed = join(store.root, 'tmp', 'crashed-upload');
    const writing = join(store.root, 'tmp', 'another-replica-writing');
    await writeFile(crashed, randomBytes(1000));
    await writeFile(writing, randomBytes(1000));
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(crashed, twoDaysAgo, twoDaysAgo);
    await registry.restart();
    expect((await blobs.keys()).filter((key) => key.startsWith('tmp/'))).toEqual(['tmp/another-replica-writing']);
  });
});
