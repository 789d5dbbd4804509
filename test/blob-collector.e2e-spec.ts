import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { contentKey } from '@gatehouse/storage';
import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import { runCaptured } from './support/cli-runner';
import { ApiClient } from './support/api-client';
import { registerVersion } from './support/model-registration';
import { freePort, startServerProcess, waitForHealth } from './support/server-process';
import { startRegistry, type TestRegistry } from './support/registry';
import { keepS3Directory, startS3ServerProcess } from './support/s3-server';

const classifier = standardFixtures().classifier;
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Abandoning pending versions, deleting unused datasets, and the collector that then frees their bytes. */
describe('abandon and collect (embedded)', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  const stored = (digest: string) =>
    access(join((registry.config.blobStore as { root: string }).root, contentKey(digest))).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '0', GC_INTERVAL_MINUTES: '0', GC_GRACE_MINUTES: '0' });
    engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
    const committed = await registerVersion(engineer, {
      model: 'scorer',
      version: '1.0.0',
      task: 'classification',
      files: { 'model.onnx': classifier.model.bytes },
      schema: classifier.model.schema,
      datasets: [{ role: 'evaluation', name: 'scorer-eval', content: jsonLines(classifier.evaluation) }],
    });
    expect(committed.status).toBe(200);
  });
  afterAll(() => registry?.close());

  it('abandons a pending version with its files, audited, and refuses a committed one with 409', async () => {
    expect((await engineer.post('/v1/models/scorer/versions', { version: '1.1.0', task: 'classification' })).status).toBe(201);
    const orphan = randomBytes(2048);
    expect((await engineer.put('/v1/models/scorer/versions/1.1.0/files/weights.bin', orphan)).status).toBe(201);
    const abandoned = await engineer.delete('/v1/models/scorer/versions/1.1.0');
    expect(abandoned.status).toBe(200);
    expect(abandoned.body).toEqual({ model: 'scorer', version: '1.1.0', files: [{ path: 'weights.bin', sha256: sha256(orphan), size: 2048 }] });
    expect((await engineer.get('/v1/models/scorer/versions/1.1.0')).status).toBe(404);
    const audit = (await registry.admin.get('/v1/audit?subject=version:scorer@1.1.0&action=version.abandoned')).body.items;
    expect(audit).toEqual([expect.objectContaining({ actor: 'engineer', payload: { files: abandoned.body.files } })]);
    // The same version number can be declared again.
    expect((await engineer.post('/v1/models/scorer/versions', { version: '1.1.0', task: 'classification' })).status).toBe(201);
    expect((await engineer.delete('/v1/models/scorer/versions/1.1.0')).status).toBe(200);

    const committed = await engineer.delete('/v1/models/scorer/versions/1.0.0');
    expect(committed.status).toBe(409);
    expect(committed.body).toMatchObject({ error: 'version_committed', details: { status: 'registered' } });
    expect((await engineer.delete('/v1/models/scorer/versions/9.9.9')).status).toBe(404);
    expect(
      (await registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'reader', roles: ['reader'] })).body.token).delete('/v1/models/scorer/versions/1.0.0'))
        .status,
    ).toBe(403);
  });

  it('deletes a dataset no version names and refuses one a version names, naming it', async () => {
    const bytes = Buffer.from('{"inputs": {"features": [1, 2, 3, 4, 5, 6, 7, 8]}, "label": 1}\n');
    expect((await engineer.post('/v1/datasets', { name: 'scratch', version: '1', sha256: sha256(bytes) })).status).toBe(201);
    expect((await engineer.put('/v1/datasets/scratch/1/file', bytes)).status).toBe(201);
    const deleted = await engineer.delete('/v1/datasets/scratch/1');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ name: 'scratch', version: '1', sha256: sha256(bytes) });
    expect((await engineer.get('/v1/datasets/scratch/1')).status).toBe(404);
    const used = await engineer.delete('/v1/datasets/scorer-eval/1');
    expect(used.status).toBe(409);
    expect(used.body).toMatchObject({ error: 'dataset_in_use', details: { versions: ['scorer@1.0.0'] } });
    expect((await engineer.delete('/v1/datasets/scratch/1')).status).toBe(404);
  });

  it('lists datasets by name then version in keyset pages, and searches them', async () => {
    for (const version of ['1', '2', '3']) expect((await engineer.post('/v1/datasets', { name: 'paged', version, description: 'for paging' })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { name: string; version: string }[]; nextCursor: string | null } = (await engineer.get(`/v1/datasets?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...page.items.map((item) => `${item.name}@${item.version}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['paged@1', 'paged@2', 'paged@3', 'scorer-eval@1']);
    expect((await engineer.get('/v1/datasets?search=PAGING')).body.items).toHaveLength(3);
    const badCursor = await engineer.get('/v1/datasets?cursor=bm9wZQ');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error).toBe('invalid_cursor');
  });

  it('reports in a dry run what it would collect, then collects exactly the unreferenced blobs', async () => {
    expect((await engineer.post('/v1/models/scorer/versions', { version: '1.2.0', task: 'classification' })).status).toBe(201);
    const orphan = randomBytes(4096);
    expect((await engineer.put('/v1/models/scorer/versions/1.2.0/files/orphan.bin', orphan)).status).toBe(201);
    const pending = await engineer.post('/v1/models/scorer/versions', { version: '1.3.0', task: 'classification' });
    expect(pending.status).toBe(201);
    const held = randomBytes(1024);
    expect((await engineer.put('/v1/models/scorer/versions/1.3.0/files/held.bin', held)).status).toBe(201);
    expect((await engineer.delete('/v1/models/scorer/versions/1.2.0')).status).toBe(200);

    expect((await engineer.post('/v1/admin/gc', {})).status).toBe(403);
    const dryRun = await registry.admin.post('/v1/admin/gc', { dryRun: true });
    expect(dryRun.status).toBe(200);
    expect(dryRun.body).toMatchObject({ dryRun: true, graceSeconds: 0, temporaries: null });
    // The orphans of the tests before (1.1.0's weights, the scratch dataset) and this one's.
    expect(dryRun.body.collected.count).toBe(3);
    expect(await stored(sha256(orphan))).toBe(true);

    const collected = (await registry.admin.post('/v1/admin/gc', {})).body;
    expect(collected).toMatchObject({ dryRun: false, collected: dryRun.body.collected, kept: dryRun.body.kept, temporaries: { removed: 0 } });
    expect(collected.kept.count).toBe(3);
    expect(await stored(sha256(orphan))).toBe(false);
    expect(await stored(sha256(held))).toBe(true);
    const model = await engineer.get('/v1/models/scorer/versions/1.0.0/files/model.onnx');
    expect(sha256(model.body as Buffer)).toBe(sha256(classifier.model.bytes));
    expect((await registry.admin.post('/v1/admin/gc', {})).body.collected.count).toBe(0);

    // A crashed upload's lease, long expired: counted once when removed, then gone.
    await registry.sql(`INSERT INTO blob_leases (sha256, expires_at) VALUES ($1, now() - interval '1 day')`, [sha256(held)]);
    expect((await registry.admin.post('/v1/admin/gc', {})).body).toMatchObject({ expiredLeases: 1, collected: { count: 0 } });
    expect((await registry.admin.post('/v1/admin/gc', {})).body.expiredLeases).toBe(0);

    const home = await mkdtemp(join(tmpdir(), 'gatehouse-gc-cli-'));
    try {
      const cli = (...argv: string[]) =>
        runCaptured(argv, { HOME: home, GATEHOUSE_CONFIG: join(home, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: registry.adminToken }, home);
      const report = await cli('admin', 'gc', '--dry-run');
      expect(report.code).toBe(0);
      expect(report.stdout).toMatch(/to collect \(dry run\)\s+0 \(0 B\)/);
      expect(report.stdout).toMatch(/kept \(referenced or leased\)\s+3/);
      expect((await cli('versions', 'abandon', 'scorer@1.3.0')).stdout).toBe('abandoned scorer@1.3.0 and its 1 file(s)\n');
      expect(JSON.parse((await cli('--json', 'admin', 'gc')).stdout).collected.count).toBe(1);
      expect(JSON.parse((await cli('--json', 'datasets', 'list', '--search', 'paged')).stdout)).toHaveLength(3);
      expect((await cli('datasets', 'delete', 'paged@3')).stdout).toBe('deleted dataset paged@3\n');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

/** `npm run gc`: the collector as a process of its own, on the embedded database of a stopped server. */
describe('npm run gc', () => {
  it('collects what an abandoned version left, printing the report as JSON, with the server stopped', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'gatehouse-gc-process-'));
    try {
      const env = { HOST: '127.0.0.1', PORT: String(await freePort()), HOME: directory, GC_INTERVAL_MINUTES: '0', GC_GRACE_MINUTES: '0', GATE_WORKERS: '0' };
      const server = startServerProcess(env, directory);
      await waitForHealth(`http://127.0.0.1:${env.PORT}`, server);
      const admin = new ApiClient(`http://127.0.0.1:${env.PORT}`, (await readFile(join(directory, 'data', 'admin-token'), 'utf8')).trim());
      expect((await admin.post('/v1/models', { name: 'left' })).status).toBe(201);
      expect((await admin.post('/v1/models/left/versions', { version: '0.1.0', task: 'other' })).status).toBe(201);
      expect((await admin.put('/v1/models/left/versions/0.1.0/files/weights.bin', randomBytes(3000))).status).toBe(201);
      expect((await admin.delete('/v1/models/left/versions/0.1.0')).status).toBe(200);
      server.process.kill('SIGTERM');
      await server.exited;

      const gc = resolve(__dirname, '../dist/apps/registry/src/gc.js');
      const run = (...argv: string[]) => promisify(execFile)(process.execPath, [gc, ...argv], { cwd: directory, env: { PATH: process.env.PATH ?? '', ...env } });
      expect(JSON.parse((await run('--dry-run')).stdout)).toMatchObject({ dryRun: true, collected: { count: 1, bytes: 3000 } });
      expect(JSON.parse((await run()).stdout)).toMatchObject({ dryRun: false, collected: { count: 1, bytes: 3000 }, kept: { count: 0 } });
      expect(JSON.parse((await run()).stdout).collected.count).toBe(0);
      await expect(run('--bogus')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('npm run gc takes only --dry-run') });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 180_000);
});

/**
 * The collector racing uploads and commits on Postgres + S3, with no grace
 * at all: uploads that store bytes an abandoned version just left behind,
 * commits, and collections all at once. Every committed file must be intact.
 */
describe('abandon and collect (Postgres + S3, racing uploads)', () => {
  let registry: TestRegistry;
  let s3: Awaited<ReturnType<typeof startS3ServerProcess>>;

  beforeAll(async () => {
    s3 = await startS3ServerProcess();
    registry = await startRegistry('postgres+s3', {
      GATE_WORKERS: '0',
      GC_INTERVAL_MINUTES: '0',
      GC_GRACE_MINUTES: '0',
      S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    // Uploads write their temporaries there while others delete theirs.
    await keepS3Directory(s3, (registry.config.blobStore as { bucket: string }).bucket, 'tmp/');
  });
  afterAll(async () => {
    await registry?.close();
    await s3?.stop();
  });

  it('never deletes a blob being uploaded, just uploaded or being committed', async () => {
    const engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
    expect((await engineer.post('/v1/models', { name: 'raced' })).status).toBe(201);
    // Shared bytes: abandoned versions leave them unreferenced while other versions upload them again.
    // Two of them, while every third version is abandoned: each is uploaded by abandoned and committed versions alike.
    const shared = Array.from({ length: 2 }, () => randomBytes(64 * 1024));
    const committed: { version: string; files: Record<string, Buffer> }[] = [];
    let uploading = true;

    const register = async (index: number) => {
      const version = `1.0.${index}`;
      const files = { 'shared.bin': shared[index % shared.length], 'own.bin': randomBytes(32 * 1024) };
      expect((await engineer.post('/v1/models/raced/versions', { version, task: 'other' })).status).toBe(201);
      for (const [path, bytes] of Object.entries(files)) expect((await engineer.put(`/v1/models/raced/versions/${version}/files/${path}`, bytes)).status).toBe(201);
      if (index % 3 === 0) {
        expect((await engineer.delete(`/v1/models/raced/versions/${version}`)).status).toBe(200);
        return;
      }
      expect((await engineer.post(`/v1/models/raced/versions/${version}/commit`, {})).status).toBe(200);
      committed.push({ version, files });
    };
    const collect = async () => {
      let runs = 0;
      while (uploading || runs < 2) {
        const report = await registry.admin.post('/v1/admin/gc', {});
        expect(report.status).toBe(200);
        runs++;
      }
      return runs;
    };

    const collections = collect();
    for (let wave = 0; wave < 4; wave++) await Promise.all(Array.from({ length: 6 }, (_, slot) => register(wave * 6 + slot)));
    uploading = false;
    expect(await collections).toBeGreaterThanOrEqual(2);

    expect(committed).toHaveLength(16);
    for (const { version, files } of committed) {
      for (const [path, bytes] of Object.entries(files)) {
        const download = await engineer.get(`/v1/models/raced/versions/${version}/files/${path}`);
        expect(download.status).toBe(200);
        expect(sha256(download.body as Buffer)).toBe(sha256(bytes));
      }
    }
    // Once a collection has run after the last abandonment, only what the abandoned versions held alone is gone: their own files.
    expect((await registry.admin.post('/v1/admin/gc', {})).status).toBe(200);
    const final = (await registry.admin.post('/v1/admin/gc', { dryRun: true })).body;
    expect(final.collected.count).toBe(0);
    expect(final.kept.count).toBe(16 + shared.length);
  }, 300_000);
});
