import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobInspection } from './support/blob-inspection';
import { startRegistry, type Backend, type TestRegistry } from './support/registry';
import type { ApiClient } from './support/api-client';
import { OpenApiContract } from './support/openapi';

const MAX_FILE_SIZE = 2 * 1024 * 1024;
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** Retries an assertion about work the server finishes after answering. */
async function eventually(assertion: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The registration flow, run unchanged against each backend. */
export function describeRegistration(backend: Backend): void {
  describe(`registration (${backend})`, () => {
    let registry: TestRegistry;
    let engineer: ApiClient;
    let reader: ApiClient;
    let blobs: BlobInspection;
    let contract: OpenApiContract;

    beforeAll(async () => {
      registry = await startRegistry(backend, { MAX_FILE_SIZE: String(MAX_FILE_SIZE) });
      contract = await OpenApiContract.of(registry.admin);
      blobs = new BlobInspection(registry);
      const minted = await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] });
      engineer = registry.admin.withToken(minted.body.token);
      const readerToken = await registry.admin.post('/v1/tokens', { name: 'auditor', roles: ['reader'] });
      reader = registry.admin.withToken(readerToken.body.token);
    });
    afterAll(() => registry?.close());

    async function declare(model: string, version: string, extra: Record<string, unknown> = {}) {
      const response = await engineer.post(`/v1/models/${model}/versions`, { version, task: 'classification', ...extra });
      expect(response.status).toBe(201);
      return response;
    }

    async function registerVersion(model: string, version: string, files: Record<string, Buffer>, extra: Record<string, unknown> = {}) {
      await declare(model, version, extra);
      for (const [path, bytes] of Object.entries(files)) {
        const uploaded = await engineer.put(`/v1/models/${model}/versions/${version}/files/${path}`, bytes, {
          'x-content-sha256': sha256(bytes),
        });
        expect(uploaded.status).toBe(201);
      }
      const committed = await engineer.post(`/v1/models/${model}/versions/${version}/commit`, {});
      expect(committed.status).toBe(200);
      return committed.body;
    }

    it('registers in three steps, seals a sorted manifest and streams the bytes back', async () => {
      const created = await engineer.post('/v1/models', { name: 'fraud', description: 'Card fraud', tags: ['tabular'] });
      expect(created.status).toBe(201);
      contract.check('post', '/v1/models', created);
      const weights = randomBytes(300_000);
      const config = Buffer.from('{"threshold":0.7}');
      const declared = await declare('fraud', '1.0.0', {
        metrics: { val_accuracy: 0.93 },
        params: { epochs: 10, lr: 0.001 },
        environment: { python: '3.11', torch: '2.4.0' },
        source: { repository: 'https://git.example.com/ml/fraud', commit: 'abcdef1234567', runId: 'run-7' },
        schema: { inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }] },
      });
      expect(declared.body).toMatchObject({ version: '1.0.0', status: 'pending_upload', files: [] });
      expect(declared.body.uploadUrl).toBe('/v1/models/fraud/versions/1.0.0/files/{path}');
      contract.check('post', '/v1/models/{name}/versions', declared);

      const first = await engineer.put('/v1/models/fraud/versions/1.0.0/files/weights/model.onnx', weights, {
        'x-content-sha256': sha256(weights),
      });
      expect(first.body).toEqual({ path: 'weights/model.onnx', sha256: sha256(weights), size: weights.length });
      contract.check('put', '/v1/models/{name}/versions/{version}/files/{path}', first);
      // Streamed without a declared digest or length: the server hashes what arrives.
      const second = await engineer.put('/v1/models/fraud/versions/1.0.0/files/config.json', Readable.from([config]));
      expect(second.status).toBe(201);
      expect(second.body.sha256).toBe(sha256(config));

      const committed = await engineer.post('/v1/models/fraud/versions/1.0.0/commit', {});
      expect(committed.status).toBe(200);
      expect(committed.body).toMatchObject({
        status: 'registered',
        format: 'onnx',
        fileCount: 2,
        size: weights.length + config.length,
        metrics: { val_accuracy: 0.93 },
        source: { repository: 'https://git.example.com/ml/fraud', commit: 'abcdef1234567', runId: 'run-7' },
        schema: { inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }] },
      });
      expect(committed.body.files.map((f: { path: string }) => f.path)).toEqual(['config.json', 'weights/model.onnx']);
      contract.check('post', '/v1/models/{name}/versions/{version}/commit', committed);
      contract.check('get', '/v1/models/{name}/versions/{version}', await reader.get('/v1/models/fraud/versions/1.0.0'));
      expect(committed.body.manifestDigest).toBe(
        sha256(
          JSON.stringify([
            { path: 'config.json', sha256: sha256(config), size: config.length },
            { path: 'weights/model.onnx', sha256: sha256(weights), size: weights.length },
          ]),
        ),
      );

      const download = await reader.get('/v1/models/fraud/versions/1.0.0/files/weights/model.onnx');
      expect(download.status).toBe(200);
      expect(Buffer.compare(download.body, weights)).toBe(0);
      expect(download.headers.get('x-content-sha256')).toBe(sha256(weights));
      const missing = await reader.get('/v1/models/fraud/versions/1.0.0/files/missing.bin');
      expect(missing.body.error).toBe('file_not_found');
      contract.check('get', '/v1/models/{name}/versions/{version}/files/{path}', missing);
    });

    it('stores identical bytes once, under their content address', async () => {
      const shared = randomBytes(50_000);
      await engineer.post('/v1/models', { name: 'dedupe' });
      await registerVersion('dedupe', '1.0.0', { 'a.bin': shared });
      await registerVersion('dedupe', '1.1.0', { 'b.bin': shared });
      const keys = await blobs.keys();
      expect(keys.filter((key) => key.endsWith(sha256(shared)))).toEqual([`sha256/${sha256(shared).slice(0, 2)}/${sha256(shared)}`]);
      expect(keys.filter((key) => key.startsWith('tmp/'))).toEqual([]);
    });

    it('makes a committed version immutable and refuses to commit an empty one', async () => {
      await engineer.post('/v1/models', { name: 'sealed' });
      await declare('sealed', '0.1.0');
      const empty = await engineer.post('/v1/models/sealed/versions/0.1.0/commit', {});
      expect(empty.status).toBe(409);
      expect(empty.body.error).toBe('version_has_no_files');
      contract.check('post', '/v1/models/{name}/versions/{version}/commit', empty);

      await engineer.put('/v1/models/sealed/versions/0.1.0/files/m.bin', Buffer.from('v1'));
      expect((await engineer.post('/v1/models/sealed/versions/0.1.0/commit', {})).status).toBe(200);
      const again = await engineer.post('/v1/models/sealed/versions/0.1.0/commit', {});
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('version_already_committed');
      const overwrite = await engineer.put('/v1/models/sealed/versions/0.1.0/files/m.bin', Buffer.from('v2'));
      expect(overwrite.status).toBe(409);
      const added = await engineer.put('/v1/models/sealed/versions/0.1.0/files/extra.bin', Buffer.from('x'));
      expect(added.status).toBe(409);
      const version = await reader.get('/v1/models/sealed/versions/0.1.0');
      expect(version.body.files).toEqual([expect.objectContaining({ path: 'm.bin', sha256: sha256('v1') })]);
    });

    it('rejects a body whose SHA-256 differs from x-content-sha256 and keeps nothing', async () => {
      await engineer.post('/v1/models', { name: 'mismatch' });
      await declare('mismatch', '1.0.0');
      const bytes = randomBytes(70_000);
      const response = await engineer.put('/v1/models/mismatch/versions/1.0.0/files/m.bin', bytes, {
        'x-content-sha256': sha256('something else'),
      });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'digest_mismatch', details: { actual: sha256(bytes) } });
      const keys = await blobs.keys();
      expect(keys.filter((key) => key.includes(sha256(bytes)) || key.startsWith('tmp/'))).toEqual([]);
      expect((await reader.get('/v1/models/mismatch/versions/1.0.0')).body.files).toEqual([]);
    });

    it('answers 413 for a file over the maximum and removes the partial upload', async () => {
      await engineer.post('/v1/models', { name: 'huge' });
      await declare('huge', '1.0.0');
      const tooBig = randomBytes(MAX_FILE_SIZE + 1);
      // Chunked, with no Content-Length, so the limit is enforced while streaming, not from the header.
      const streamed = await engineer.put('/v1/models/huge/versions/1.0.0/files/big.bin', Readable.from([tooBig.subarray(0, 1_000_000), tooBig.subarray(1_000_000)]));
      expect(streamed.status).toBe(413);
      expect(streamed.body.error).toBe('file_too_large');
      const declaredTooBig = await engineer.put('/v1/models/huge/versions/1.0.0/files/big.bin', tooBig);
      expect(declaredTooBig.status).toBe(413);
      expect((await blobs.keys()).filter((key) => key.startsWith('tmp/') || key.includes(sha256(tooBig)))).toEqual([]);
      expect((await reader.get('/v1/models/huge/versions/1.0.0')).body.files).toEqual([]);
    });

    it('removes the partial blob when the client disconnects mid-upload', async () => {
      await engineer.post('/v1/models', { name: 'aborted' });
      await declare('aborted', '1.0.0');
      await engineer.abandonUpload('/v1/models/aborted/versions/1.0.0/files/m.bin', randomBytes(200_000), 1_000_000);
      await eventually(async () => expect((await blobs.keys()).filter((key) => key.startsWith('tmp/'))).toEqual([]));
      expect((await reader.get('/v1/models/aborted/versions/1.0.0')).body.files).toEqual([]);
      const retried = await engineer.put('/v1/models/aborted/versions/1.0.0/files/m.bin', Buffer.from('complete'));
      expect(retried.status).toBe(201);
    });

    it.each([
      ['a parent segment', '../escape.bin'],
      ['a parent segment inside', 'weights/../../escape.bin'],
      ['an absolute path', '%2Fetc%2Fpasswd'],
      ['a backslash', 'weights%5Cmodel.onnx'],
      ['an empty segment', 'weights//model.onnx'],
      ['a trailing slash', 'weights/'],
      ['a current-directory segment', './model.onnx'],
    ])('rejects a file path with %s', async (_what, path) => {
      await engineer.post('/v1/models', { name: 'paths' });
      await engineer.post('/v1/models/paths/versions', { version: '1.0.0', task: 'other' });
      const response = await engineer.verbatim('PUT', `/v1/models/paths/versions/1.0.0/files/${path}`, Buffer.from('x'));
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('unsafe_path');
    });

    it('validates versions, references and DTOs with clear errors', async () => {
      await engineer.post('/v1/models', { name: 'strict' });
      const badSemver = await engineer.post('/v1/models/strict/versions', { version: 'v1.0', task: 'classification' });
      expect(badSemver.status).toBe(400);
      expect(badSemver.body.error).toBe('invalid_version');
      await declare('strict', '1.0.0');
      expect((await engineer.post('/v1/models/strict/versions', { version: '1.0.0', task: 'classification' })).status).toBe(409);
      expect((await engineer.post('/v1/models/nope/versions', { version: '1.0.0', task: 'classification' })).body.error).toBe('model_not_found');
      expect((await reader.get('/v1/models/strict/versions/9.9.9')).status).toBe(404);
      expect((await reader.get('/v1/models/nope')).status).toBe(404);
      expect((await engineer.post('/v1/models', { name: 'strict' })).status).toBe(409);

      const malformed = await engineer.post('/v1/models/strict/versions', {
        version: '2.0.0',
        task: 'astrology',
        metrics: { accuracy: 'high' },
        schema: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1] }], outputs: [] },
        parents: [{ model: 'Bad Name', version: '1.0.0' }],
        surprise: true,
      });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toBe('validation_failed');
      const fields = malformed.body.details.fields.map((f: { field: string }) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['task', 'metrics', 'schema.inputs.0.shape', 'parents.0.model', 'surprise']));
      expect((await reader.get('/v1/models/strict/versions/2.0.0')).status).toBe(404);
    });

    it('enforces roles on every write', async () => {
      const scientist = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'scientist', roles: ['data_scientist'] })).body.token);
      expect((await reader.post('/v1/models', { name: 'readers-cannot' })).status).toBe(403);
      expect((await scientist.post('/v1/models', { name: 'scientists-can' })).status).toBe(201);
      expect((await reader.post('/v1/models/scientists-can/versions', { version: '1.0.0', task: 'other' })).status).toBe(403);
      expect((await scientist.post('/v1/models/scientists-can/versions', { version: '1.0.0', task: 'other' })).status).toBe(201);
      expect((await reader.put('/v1/models/scientists-can/versions/1.0.0/files/a.bin', Buffer.from('a'))).status).toBe(403);
      expect((await reader.post('/v1/models/scientists-can/versions/1.0.0/commit', {})).status).toBe(403);
      expect((await registry.anonymous.get('/v1/models')).status).toBe(401);
      expect((await reader.get('/v1/models/scientists-can')).status).toBe(200);
    });

    it('records lineage and datasets and walks it up and down with recursive SQL', async () => {
      const trainingBytes = Buffer.from('{"inputs":{"x":[1,2,3,4]},"label":1}\n');
      const training = await engineer.post('/v1/datasets', { name: 'tx', version: '2024-11', sha256: sha256(trainingBytes) });
      contract.check('post', '/v1/datasets', training);
      expect(training.status).toBe(201);
      expect((await engineer.put('/v1/datasets/tx/2024-11/file', trainingBytes)).body).toMatchObject({ stored: true, size: trainingBytes.length });
      await engineer.post('/v1/datasets', { name: 'holdout', version: '1', uri: 's3://lake/holdout.jsonl' });

      await engineer.post('/v1/models', { name: 'base' });
      await engineer.post('/v1/models', { name: 'tuned' });
      await registerVersion('base', '1.0.0', { 'm.bin': Buffer.from('base') }, { datasets: [{ name: 'tx', version: '2024-11', role: 'training' }] });
      await registerVersion(
        'tuned',
        '1.0.0',
        { 'm.bin': Buffer.from('tuned-1') },
        {
          parents: [{ model: 'base', version: '1.0.0', relation: 'fine_tuned_from' }],
        },
      );
      await registerVersion(
        'tuned',
        '1.1.0',
        { 'm.bin': Buffer.from('tuned-2') },
        {
          parents: [{ model: 'tuned', version: '1.0.0', relation: 'retrained_from' }],
        },
      );

      const noChecksum = await engineer.post('/v1/models/tuned/versions', {
        version: '9.0.0',
        task: 'other',
        datasets: [{ name: 'holdout', version: '1', role: 'evaluation' }],
      });
      expect(noChecksum.status).toBe(409);
      expect(noChecksum.body.error).toBe('dataset_without_checksum');
      const missingParent = await engineer.post('/v1/models/tuned/versions', {
        version: '9.0.0',
        task: 'other',
        parents: [{ model: 'base', version: '7.0.0' }],
      });
      expect(missingParent.status).toBe(404);
      expect(missingParent.body.error).toBe('parent_not_found');
      await declare('tuned', '2.0.0-rc.1');
      const pendingParent = await engineer.post('/v1/models/tuned/versions', {
        version: '9.0.0',
        task: 'other',
        parents: [{ model: 'tuned', version: '2.0.0-rc.1' }],
      });
      expect(pendingParent.body.error).toBe('parent_not_committed');

      const up = await reader.get('/v1/models/tuned/versions/1.1.0/lineage?direction=up');
      expect(up.status).toBe(200);
      contract.check('get', '/v1/models/{name}/versions/{version}/lineage', up);
      expect(up.body.nodes.map((n: { model: string; version: string; relation: string; distance: number }) => [n.model, n.version, n.relation, n.distance])).toEqual([
        ['base', '1.0.0', 'ancestor', 2],
        ['tuned', '1.0.0', 'ancestor', 1],
        ['tuned', '1.1.0', 'self', 0],
      ]);
      expect(up.body.edges).toEqual(
        expect.arrayContaining([
          { child: { model: 'tuned', version: '1.0.0' }, parent: { model: 'base', version: '1.0.0' }, relation: 'fine_tuned_from' },
          { child: { model: 'tuned', version: '1.1.0' }, parent: { model: 'tuned', version: '1.0.0' }, relation: 'retrained_from' },
        ]),
      );
      expect(up.body.datasets).toEqual([
        expect.objectContaining({ name: 'tx', version: '2024-11', role: 'training', sha256: sha256(trainingBytes), usedBy: { model: 'base', version: '1.0.0' } }),
      ]);

      const shallow = await reader.get('/v1/models/tuned/versions/1.1.0/lineage?direction=up&depth=1');
      expect(shallow.body.nodes.map((n: { version: string; model: string }) => `${n.model}@${n.version}`)).toEqual(['tuned@1.0.0', 'tuned@1.1.0']);
      const down = await reader.get('/v1/models/base/versions/1.0.0/lineage?direction=down');
      expect(down.body.nodes.map((n: { version: string; model: string }) => `${n.model}@${n.version}`)).toEqual(['base@1.0.0', 'tuned@1.0.0', 'tuned@1.1.0']);
      const both = await reader.get('/v1/models/tuned/versions/1.0.0/lineage');
      contract.check('get', '/v1/models/{name}/versions/{version}/lineage', both);
      expect(both.body.nodes).toHaveLength(3);
      expect((await reader.get('/v1/models/tuned/versions/1.0.0/lineage?direction=sideways')).status).toBe(400);
      expect((await reader.get('/v1/models/tuned/versions/1.0.0')).body.parents).toEqual([{ model: 'base', version: '1.0.0', relation: 'fine_tuned_from' }]);
    });

    it('rejects a dataset file that does not match its declared checksum', async () => {
      await engineer.post('/v1/datasets', { name: 'eval', version: '1', sha256: sha256('expected') });
      const response = await engineer.put('/v1/datasets/eval/1/file', Buffer.from('tampered'));
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('digest_mismatch');
      expect((await reader.get('/v1/datasets/eval/1')).body.stored).toBe(false);
      expect((await blobs.keys()).filter((key) => key.includes(sha256('tampered')))).toEqual([]);
    });

    it('fails the download loudly when the stored bytes were tampered with', async () => {
      const bytes = randomBytes(200_000);
      await engineer.post('/v1/models', { name: 'tamper' });
      await registerVersion('tamper', '1.0.0', { 'model.onnx': bytes });
      const forged = Buffer.from(bytes);
      forged[100_000] ^= 0xff;
      await blobs.overwrite(sha256(bytes), forged);
      const response = await reader.get('/v1/models/tamper/versions/1.0.0/files/model.onnx');
      expect(response.status).toBe(500);
      expect(response.body).toMatchObject({ error: 'blob_corrupt', details: { expected: sha256(bytes), actualSha256: sha256(forged) } });
      const audited = await registry.admin.get('/v1/audit?action=blob.integrity_failed');
      expect(audited.body.items[0]).toMatchObject({ subject: 'version:tamper@1.0.0', actor: 'auditor', payload: { path: 'model.onnx', code: 'blob_corrupt' } });
    });

    it('pages models and versions with keyset cursors and filters them', async () => {
      for (const name of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) {
        await engineer.post('/v1/models', { name, tags: name === 'page-c' ? ['vision'] : [], description: name === 'page-d' ? 'Speech recogniser' : undefined });
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: { name: string }[]; nextCursor: string | null } } = await reader.get(`/v1/models?search=page-&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((item) => item.name));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);
      expect((await reader.get('/v1/models?tag=vision')).body.items.map((m: { name: string }) => m.name)).toEqual(['page-c']);
      expect((await reader.get('/v1/models?search=SPEECH')).body.items.map((m: { name: string }) => m.name)).toEqual(['page-d']);
      expect((await reader.get('/v1/models?cursor=garbage')).status).toBe(400);
      expect((await reader.get('/v1/models?limit=0')).status).toBe(400);

      for (const version of ['1.0.0', '1.1.0', '2.0.0']) await declare('page-a', version);
      const first = await reader.get('/v1/models/page-a/versions?limit=2');
      expect(first.body.items.map((v: { version: string }) => v.version)).toEqual(['2.0.0', '1.1.0']);
      const second = await reader.get(`/v1/models/page-a/versions?limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body).toMatchObject({ items: [{ version: '1.0.0' }], nextCursor: null });
      expect((await reader.get('/v1/models/page-a/versions?search=1.')).body.items).toHaveLength(2);
      expect((await reader.get('/v1/models/page-a/versions?status=registered')).body.items).toEqual([]);
    });

    it('lets exactly one of two concurrent declarations of a version win', async () => {
      await engineer.post('/v1/models', { name: 'race' });
      const results = await Promise.all(Array.from({ length: 6 }, () => engineer.post('/v1/models/race/versions', { version: '1.0.0', task: 'other' })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    });

    it('keeps everything across a restart', async () => {
      const bytes = randomBytes(10_000);
      await engineer.post('/v1/models', { name: 'durable' });
      await registerVersion('durable', '3.1.4', { 'model.onnx': bytes });
      await registry.restart();
      const again = registry.admin;
      expect((await again.get('/v1/models/durable/versions/3.1.4')).body.status).toBe('registered');
      const download = await again.get('/v1/models/durable/versions/3.1.4/files/model.onnx');
      expect(Buffer.compare(download.body, bytes)).toBe(0);
      expect((await again.get('/health')).body.status).toBe('ok');
    });
  });
}
