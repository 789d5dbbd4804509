import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { ApiClient } from './support/api-client';
import { BlobInspection } from './support/blob-inspection';
import { startRegistry, type TestRegistry } from './support/registry';

const MAX_FILE_SIZE = 64 * 1024;
const MAX_JSON_BODY_SIZE = 4096;

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

/** Status and body, to compare whole. */
const answer = ({ status, body }: RawResponse) => ({ status, body });

/**
 * Sends exactly these headers and bytes, as curl would: fetch adds a content-type of its own to a string body. A body
 * given as chunks goes out chunked with no Content-Length, like `curl -T -`; `expect: 100-continue` waits, as curl -T does.
 */
function send(baseUrl: string, method: string, path: string, headers: OutgoingHttpHeaders, body?: Buffer | string | (Buffer | string)[]): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const chunked = Array.isArray(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body === undefined || chunked ? {} : { 'content-length': Buffer.byteLength(body) }) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
      },
    );
    request.on('error', reject);
    const write = () => {
      for (const chunk of chunked ? body : body === undefined ? [] : [body]) request.write(chunk);
      request.end();
    };
    if (headers.expect === '100-continue') request.once('continue', write);
    else write();
  });
}

describe('errors say what to do', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let authorization: string;
  let blobs: BlobInspection;

  const raw = (method: string, path: string, headers: OutgoingHttpHeaders, body?: Buffer | string | (Buffer | string)[]) =>
    send(registry.url, method, path, { authorization, ...headers }, body);

  beforeAll(async () => {
    registry = await startRegistry('embedded', { MAX_FILE_SIZE: String(MAX_FILE_SIZE), MAX_JSON_BODY_SIZE: String(MAX_JSON_BODY_SIZE) });
    blobs = new BlobInspection(registry);
    const token = (await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token as string;
    engineer = registry.admin.withToken(token);
    authorization = `Bearer ${token}`;
    expect((await engineer.post('/v1/models', { name: 'fraud' })).status).toBe(201);
  });
  afterAll(() => registry?.close());

  describe('a JSON route sent something else is a 415 naming application/json and the header to send', () => {
    it.each([
      ["curl -d's form type", 'application/x-www-form-urlencoded', 'name=form-model'],
      ['text/plain', 'text/plain', '{"name":"text-model"}'],
      ['text/plain from fetch, with a charset', 'text/plain;charset=UTF-8', '{"name":"text-model"}'],
      ['multipart', 'multipart/form-data; boundary=x', '--x\r\ncontent-disposition: form-data; name="name"\r\n\r\nmultipart-model\r\n--x--\r\n'],
    ])('%s', async (_name, type, body) => {
      const refused = await raw('POST', '/v1/models', { 'content-type': type }, body);
      expect(answer(refused)).toEqual({
        status: 415,
        body: {
          statusCode: 415,
          error: 'unsupported_media_type',
          message: `this route takes a JSON body, but the request's content-type is ${type}; send the body as JSON with the header content-type: application/json (curl: -H 'content-type: application/json')`,
          details: { expected: 'application/json', received: type },
        },
      });
    });

    it('a body with no content-type at all, with a Content-Length or chunked', async () => {
      for (const body of ['{"name":"untyped"}', ['{"name":', '"untyped"}']]) {
        const refused = await raw('POST', '/v1/models', {}, body);
        expect(refused.status).toBe(415);
        expect(refused.body).toMatchObject({ error: 'unsupported_media_type', details: { expected: 'application/json', received: null } });
        expect(refused.body.message).toContain(
          "content-type is missing; send the body as JSON with the header content-type: application/json (curl: -H 'content-type: application/json')",
        );
      }
    });

    it('the JSON PUT route too, and it stores none of the refused bodies', async () => {
      const refused = await raw('PUT', '/v1/models/fraud/scan-allowances', { 'content-type': 'application/x-www-form-urlencoded' }, 'allowedGlobals=os.system');
      expect(refused.status).toBe(415);
      for (const name of ['form-model', 'text-model', 'multipart-model', 'untyped']) expect((await engineer.get(`/v1/models/${name}`)).status).toBe(404);
    });

    it('takes JSON-based types and a UTF-8 charset', async () => {
      expect((await raw('POST', '/v1/models', { 'content-type': 'application/json; charset=utf-8' }, '{"name":"charset-model"}')).status).toBe(201);
      expect((await raw('POST', '/v1/models', { 'content-type': 'application/merge-patch+json' }, '{"name":"suffix-model"}')).status).toBe(201);
    });

    it.each([
      ['a charset it can read but is not UTF-8', 'latin1'],
      ['a charset nobody knows', 'klingon'],
    ])('refuses %s with 415 unsupported_charset', async (_name, charset) => {
      const refused = await raw('POST', '/v1/models', { 'content-type': `application/json; charset=${charset}` }, '{"name":"latin-model"}');
      expect(refused.status).toBe(415);
      expect(refused.body).toMatchObject({ error: 'unsupported_charset', details: { expected: 'utf-8', received: charset } });
      expect(refused.body.message).toContain('JSON must be sent as UTF-8');
    });

    it('refuses a content-encoding it cannot undo with 415, naming those it can', async () => {
      const refused = await raw('POST', '/v1/models', { 'content-type': 'application/json', 'content-encoding': 'compress' }, '{"name":"lzw"}');
      expect(refused.status).toBe(415);
      expect(refused.body).toEqual({
        statusCode: 415,
        error: 'unsupported_content_encoding',
        message: 'content-encoding compress is not supported; send the body uncompressed, or as gzip, deflate, br or zstd',
        details: { received: 'compress' },
      });
    });
  });

  describe('uploads take bytes whatever their content-type, as curl -T sends them', () => {
    it('stores a file sent with no content-type, with a length or chunked, then commits with a POST that has no body', async () => {
      expect((await engineer.post('/v1/models/fraud/versions', { version: '1.0.0', task: 'classification' })).status).toBe(201);
      const files = '/v1/models/fraud/versions/1.0.0/files';
      const sized = await raw('PUT', `${files}/model.onnx`, { expect: '100-continue' }, randomBytes(1000));
      expect(sized).toMatchObject({ status: 201, body: { path: 'model.onnx', size: 1000 } });
      const chunked = await raw('PUT', `${files}/weights.bin`, { expect: '100-continue' }, [randomBytes(500), randomBytes(500)]);
      expect(chunked).toMatchObject({ status: 201, body: { path: 'weights.bin', size: 1000 } });
      const asForm = await raw('PUT', `${files}/notes.txt`, { 'content-type': 'application/x-www-form-urlencoded' }, 'not=a form');
      expect(asForm.status).toBe(201);

      // curl -X POST …/commit: no body, no content-type.
      const committed = await raw('POST', '/v1/models/fraud/versions/1.0.0/commit', {});
      expect(committed.status).toBe(200);
      expect(committed.body).toMatchObject({ status: 'registered', files: expect.arrayContaining([expect.objectContaining({ path: 'weights.bin' })]) });
    });
  });

  describe('a JSON body that is not an object is a 400 saying an object was expected', () => {
    it.each([
      ['null', 'null'],
      ['[]', 'an array'],
      ['[{"name":"in-array"}]', 'an array'],
      ['42', 'a number'],
      ['"fraud"', 'a string'],
      ['true', 'a boolean'],
    ])('%s', async (body, received) => {
      const refused = await raw('POST', '/v1/models', { 'content-type': 'application/json' }, body);
      expect(answer(refused)).toEqual({
        status: 400,
        body: {
          statusCode: 400,
          error: 'body_not_object',
          message: `the body must be a JSON object, got ${received}; send the fields as {"field": value, …}`,
          details: { expected: 'object', received },
        },
      });
    });

    it('on a route whose fields are all optional as well', async () => {
      expect((await engineer.post('/v1/models/fraud/versions', { version: '1.0.1', task: 'classification' })).status).toBe(201);
      const refused = await raw('POST', '/v1/models/fraud/versions/1.0.1/commit', { 'content-type': 'application/json' }, 'null');
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('body_not_object');
      expect((await engineer.get('/v1/models/fraud/versions/1.0.1')).body.status).toBe('pending_upload');
    });

    it('leaves text that is not JSON at all to invalid_json', async () => {
      const refused = await raw('POST', '/v1/models', { 'content-type': 'application/json' }, 'nul');
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_json');
    });
  });

  it('role_required lists each role once', async () => {
    const reader = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'reader', roles: ['reader'] })).body.token);
    const adminOnly = await reader.post('/v1/tokens', { name: 'sneaky', roles: ['admin'] });
    expect(adminOnly.status).toBe(403);
    expect(adminOnly.body).toEqual({ statusCode: 403, error: 'role_required', message: 'this action needs one of the roles: admin', details: { allowed: ['admin'] } });
    const writers = await reader.post('/v1/models', { name: 'by-reader' });
    expect(writers.body).toMatchObject({
      message: 'this action needs one of the roles: admin, ml_engineer, data_scientist',
      details: { allowed: ['admin', 'ml_engineer', 'data_scientist'] },
    });
  });

  describe('a 413 names the limit and the setting that raises it', () => {
    const oversizedModel = JSON.stringify({ name: 'big-model', description: 'x'.repeat(MAX_JSON_BODY_SIZE) });

    it('on a JSON body whose Content-Length is over MAX_JSON_BODY_SIZE', async () => {
      const refused = await raw('POST', '/v1/models', { 'content-type': 'application/json' }, oversizedModel);
      expect(answer(refused)).toEqual({
        status: 413,
        body: {
          statusCode: 413,
          error: 'body_too_large',
          message: `the declared Content-Length (${oversizedModel.length} bytes) is larger than MAX_JSON_BODY_SIZE (4 KiB); send a smaller body, or set MAX_JSON_BODY_SIZE on the registry to raise the limit`,
          details: { setting: 'MAX_JSON_BODY_SIZE', maxBytes: MAX_JSON_BODY_SIZE, declaredBytes: oversizedModel.length },
        },
      });
      // Answered before the body was read, so the connection closes: a keep-alive client must not reuse it.
      expect(refused.headers.connection).toBe('close');
    });

    it('on a chunked JSON body that grows past it', async () => {
      const refused = await raw('POST', '/v1/models', { 'content-type': 'application/json' }, [oversizedModel.slice(0, 1000), oversizedModel.slice(1000)]);
      expect(answer(refused)).toEqual({
        status: 413,
        body: {
          statusCode: 413,
          error: 'body_too_large',
          message: 'the JSON body is larger than MAX_JSON_BODY_SIZE (4 KiB); send a smaller body, or set MAX_JSON_BODY_SIZE on the registry to raise the limit',
          details: { setting: 'MAX_JSON_BODY_SIZE', maxBytes: MAX_JSON_BODY_SIZE },
        },
      });
      expect((await engineer.get('/v1/models/big-model')).status).toBe(404);
    });

    it('takes a body just under it', async () => {
      const body = JSON.stringify({ version: '1.0.2', task: 'classification', params: { note: 'x'.repeat(MAX_JSON_BODY_SIZE - 100) } });
      expect(body.length).toBeLessThan(MAX_JSON_BODY_SIZE);
      expect((await raw('POST', '/v1/models/fraud/versions', { 'content-type': 'application/json' }, body)).status).toBe(201);
    });

    it('on an upload over MAX_FILE_SIZE, declared or streamed, keeping neither file nor partial blob', async () => {
      expect((await engineer.post('/v1/models/fraud/versions', { version: '1.0.3', task: 'classification' })).status).toBe(201);
      const path = '/v1/models/fraud/versions/1.0.3/files/big.bin';
      const declared = await raw('PUT', path, { expect: '100-continue' }, randomBytes(MAX_FILE_SIZE + 1));
      expect(answer(declared)).toEqual({
        status: 413,
        body: {
          statusCode: 413,
          error: 'file_too_large',
          message: `the declared Content-Length (${MAX_FILE_SIZE + 1} bytes) is larger than MAX_FILE_SIZE (64 KiB); split the artifact into smaller files, or set MAX_FILE_SIZE on the registry to raise the limit`,
          details: { setting: 'MAX_FILE_SIZE', maxBytes: MAX_FILE_SIZE, declaredBytes: MAX_FILE_SIZE + 1 },
        },
      });
      const streamed = await raw('PUT', path, {}, [randomBytes(MAX_FILE_SIZE), randomBytes(1000)]);
      expect(answer(streamed)).toEqual({
        status: 413,
        body: {
          statusCode: 413,
          error: 'file_too_large',
          message: 'the file is larger than MAX_FILE_SIZE (64 KiB); split the artifact into smaller files, or set MAX_FILE_SIZE on the registry to raise the limit',
          details: { setting: 'MAX_FILE_SIZE', maxBytes: MAX_FILE_SIZE },
        },
      });
      expect((await engineer.get('/v1/models/fraud/versions/1.0.3')).body.files).toEqual([]);
      expect((await blobs.keys()).filter((key) => key.startsWith('tmp/'))).toEqual([]);
    });
  });

  describe('source.commit takes what git prints', () => {
    const declareWithCommit = (version: string, commit: unknown) => engineer.post('/v1/models/fraud/versions', { version, task: 'classification', source: { commit } });

    it.each([
      ['a 6-digit short hash', 'abc123', 'abc123'],
      ['the shortest git abbreviates to', '1234', '1234'],
      ['a full SHA-1', 'a'.repeat(40), 'a'.repeat(40)],
      ['a SHA-256 object name', 'b'.repeat(64), 'b'.repeat(64)],
      ['upper case, stored in lower case', 'ABC123DEF', 'abc123def'],
    ])('accepts %s', async (_name, commit, stored) => {
      const version = `2.0.${randomBytes(2).readUInt16BE()}`;
      const declared = await declareWithCommit(version, commit);
      expect(declared.status).toBe(201);
      expect((await engineer.get(`/v1/models/fraud/versions/${version}`)).body.source).toMatchObject({ commit: stored });
    });

    it.each([
      ['3 digits, shorter than git abbreviates', '123'],
      ['41 digits', 'c'.repeat(41)],
      ['63 digits', 'c'.repeat(63)],
      ['a digit that is not hex', 'abc12g'],
      ['a ref name', 'main'],
      ['a number', 1234],
    ])('refuses %s with 400, saying what is accepted', async (_name, commit) => {
      const refused = await declareWithCommit('3.0.0', commit);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        error: 'validation_failed',
        details: {
          fields: [
            {
              field: 'source.commit',
              errors: ['commit must be a git commit hash: 4 to 40 hex digits (abbreviated or full SHA-1, e.g. 9f2c1e7), or 64 for a SHA-256 repository'],
            },
          ],
        },
      });
    });
  });
});
