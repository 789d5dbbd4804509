import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';

const classifier = standardFixtures().classifier.model;

/** Editing what may change after registration: model metadata, version description and tags; never files, metrics, lineage or schema. */
describe('metadata: PATCH models and versions, version tags', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let reader: ApiClient;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '0' });
    const token = async (name: string, roles: string[]) => (await registry.admin.post('/v1/tokens', { name, roles })).body.token as string;
    engineer = registry.admin.withToken(await token('engineer', ['ml_engineer']));
    reader = registry.admin.withToken(await token('reader', ['reader']));
    expect((await engineer.post('/v1/models', { name: 'scorer', description: 'first', owner: 'risk', tags: ['tabular'] })).status).toBe(201);
    const committed = await registerVersion(engineer, {
      model: 'scorer',
      version: '1.0.0',
      task: 'classification',
      files: { 'model.onnx': classifier.bytes },
      schema: classifier.schema,
    });
    expect(committed.status).toBe(200);
    const declared = await engineer.post('/v1/models/scorer/versions', { version: '1.1.0', task: 'classification', tags: { team: 'risk', 'runtime/target': 'server' } });
    expect(declared.status).toBe(201);
    expect(declared.body.tags).toEqual({ team: 'risk', 'runtime/target': 'server' });
  });
  afterAll(() => registry?.close());

  const auditOf = async (subject: string, action: string) =>
    (await registry.admin.get(`/v1/audit?subject=${encodeURIComponent(subject)}&action=${action}`)).body.items as { actor: string; payload: any }[];

  it("changes a model's description, owner and tags, audits old and new, and leaves what the patch does not name", async () => {
    const patched = await engineer.patch('/v1/models/scorer', { description: 'fraud scores for card payments', tags: ['tabular', 'pii'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'scorer', description: 'fraud scores for card payments', owner: 'risk', tags: ['tabular', 'pii'] });
    expect((await reader.get('/v1/models/scorer')).body).toMatchObject({ description: 'fraud scores for card payments', owner: 'risk' });
    const cleared = await engineer.patch('/v1/models/scorer', { owner: null });
    expect(cleared.body.owner).toBeNull();

    const events = await auditOf('model:scorer', 'model.updated');
    expect(events.map((event) => event.payload.changes)).toEqual([
      { owner: { from: 'risk', to: null } },
      { description: { from: 'first', to: 'fraud scores for card payments' }, tags: { from: ['tabular'], to: ['tabular', 'pii'] } },
    ]);
    // Nothing changed: answered, not audited.
    expect((await engineer.patch('/v1/models/scorer', { description: 'fraud scores for card payments' })).status).toBe(200);
    expect(await auditOf('model:scorer', 'model.updated')).toHaveLength(2);
  });

  it('refuses a new name with 409 naming the field, bad values with 400, unknown models with 404, readers with 403', async () => {
    const renamed = await engineer.patch('/v1/models/scorer', { name: 'other', description: 'not applied' });
    expect(renamed.status).toBe(409);
    expect(renamed.body).toMatchObject({ error: 'field_immutable', details: { field: 'name' } });
    expect((await reader.get('/v1/models/scorer')).body.description).toBe('fraud scores for card payments');
    const badTags = await engineer.patch('/v1/models/scorer', { tags: null });
    expect(badTags.status).toBe(400);
    expect(badTags.body.message).toContain('tags');
    expect((await engineer.patch('/v1/models/scorer', { colour: 'red' })).status).toBe(400);
    expect((await engineer.patch('/v1/models/nobody', { description: 'x' })).status).toBe(404);
    expect((await reader.patch('/v1/models/scorer', { description: 'x' })).status).toBe(403);
  });

  it("edits a committed version's description and tags, merging tags (null removes), audited", async () => {
    const patched = await engineer.patch('/v1/models/scorer/versions/1.0.0', { description: 'baseline', tags: { reviewed: 'yes', team: 'risk' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ version: '1.0.0', status: 'registered', description: 'baseline', tags: { reviewed: 'yes', team: 'risk' } });
    const merged = await engineer.patch('/v1/models/scorer/versions/1.0.0', { tags: { reviewed: null, team: 'fraud' } });
    expect(merged.body.tags).toEqual({ team: 'fraud' });
    expect(merged.body.files).toEqual(patched.body.files);
    expect(merged.body.manifestDigest).toBe(patched.body.manifestDigest);

    const events = await auditOf('version:scorer@1.0.0', 'version.updated');
    expect(events.map((event) => event.payload.changes)).toEqual([
      { tags: { reviewed: { from: 'yes', to: null }, team: { from: 'risk', to: 'fraud' } } },
      { description: { from: null, to: 'baseline' }, tags: { reviewed: { from: null, to: 'yes' }, team: { from: null, to: 'risk' } } },
    ]);
  });

  it('refuses to change files, metrics, lineage or schema with 409 naming the field, at any status, and changes nothing', async () => {
    for (const [version, field, value] of [
      ['1.0.0', 'metrics', { val_accuracy: 0.99 }],
      ['1.0.0', 'schema', classifier.schema],
      ['1.0.0', 'parents', []],
      ['1.0.0', 'files', []],
      ['1.1.0', 'datasets', []],
      ['1.1.0', 'task', 'regression'],
    ] as const) {
      const refused = await engineer.patch(`/v1/models/scorer/versions/${version}`, { description: 'not applied', [field]: value });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: 'field_immutable', details: { field } });
      expect(refused.body.message).toContain(`${field} of version scorer@${version} cannot change`);
    }
    expect((await reader.get('/v1/models/scorer/versions/1.0.0')).body.description).toBe('baseline');
  });

  it('sets and removes single tags with PUT and DELETE, audited with the value replaced', async () => {
    const set = await engineer.putJson('/v1/models/scorer/versions/1.0.0/tags/runtime%2Ftarget', { value: 'browser' });
    expect(set.status).toBe(200);
    expect(set.body.tags).toEqual({ team: 'fraud', 'runtime/target': 'browser' });
    await engineer.putJson('/v1/models/scorer/versions/1.0.0/tags/runtime%2Ftarget', { value: 'edge' });
    // The value it already has: nothing to audit.
    await engineer.putJson('/v1/models/scorer/versions/1.0.0/tags/runtime%2Ftarget', { value: 'edge' });
    const removed = await engineer.delete('/v1/models/scorer/versions/1.0.0/tags/runtime%2Ftarget');
    expect(removed.status).toBe(200);
    expect(removed.body.tags).toEqual({ team: 'fraud' });
    const missing = await engineer.delete('/v1/models/scorer/versions/1.0.0/tags/runtime%2Ftarget');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('tag_not_found');

    const history = [...(await auditOf('version:scorer@1.0.0', 'version.tag_set')), ...(await auditOf('version:scorer@1.0.0', 'version.tag_deleted'))];
    expect(history.map((event) => event.payload)).toEqual(
      expect.arrayContaining([
        { key: 'runtime/target', from: null, to: 'browser' },
        { key: 'runtime/target', from: 'browser', to: 'edge' },
        { key: 'runtime/target', from: 'edge', to: null },
      ]),
    );
    expect(history).toHaveLength(3);

    const badKey = await engineer.putJson('/v1/models/scorer/versions/1.0.0/tags/-bad', { value: 'x' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.message).toContain('a tag key is 1-128 characters');
    expect((await engineer.putJson('/v1/models/scorer/versions/1.0.0/tags/ok', { value: 3 })).status).toBe(400);
    expect((await engineer.putJson('/v1/models/scorer/versions/9.9.9/tags/ok', { value: 'x' })).status).toBe(404);
    expect((await reader.putJson('/v1/models/scorer/versions/1.0.0/tags/ok', { value: 'x' })).status).toBe(403);
  });

  it('applies concurrent edits of one tag one after the other: each audit event replaces the value the one before set', async () => {
    const values = Array.from({ length: 8 }, (_, index) => `value-${index}`);
    const answers = await Promise.all(values.map((value) => engineer.putJson('/v1/models/scorer/versions/1.1.0/tags/owner', { value })));
    expect(answers.map((answer) => answer.status)).toEqual(values.map(() => 200));
    // The audit log lists newest first.
    const chain = (await auditOf('version:scorer@1.1.0', 'version.tag_set')).map((event) => event.payload).reverse();
    expect(chain).toHaveLength(values.length);
    expect(chain[0].from).toBeNull();
    for (let index = 1; index < chain.length; index++) expect(chain[index].from).toBe(chain[index - 1].to);
    expect((await reader.get('/v1/models/scorer/versions/1.1.0')).body.tags.owner).toBe(chain.at(-1).to);
  });

  it('filters version lists by tag: key=value, a bare key, several at once', async () => {
    const list = async (query: string) => (await reader.get(`/v1/models/scorer/versions?${query}`)).body.items.map((item: { version: string }) => item.version);
    expect(await list('tag=team=fraud')).toEqual(['1.0.0']);
    expect(await list('tag=team=risk')).toEqual(['1.1.0']);
    expect(await list('tag=team')).toEqual(['1.1.0', '1.0.0']);
    expect(await list('tag=team&tag=runtime%2Ftarget=server')).toEqual(['1.1.0']);
    expect(await list('tag=absent')).toEqual([]);
    const bad = await reader.get('/v1/models/scorer/versions?tag=-bad=x');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('each tag filter is key=value or key');
  });

  describe('from the CLI', () => {
    let home: string;
    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'gatehouse-metadata-cli-'));
    });
    afterAll(() => rm(home, { recursive: true, force: true }));
    const cli = (...argv: string[]) =>
      runCaptured(argv, { HOME: home, GATEHOUSE_CONFIG: join(home, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: engineer.token! }, home);
    const json = async (...argv: string[]) => {
      const run = await cli('--json', ...argv);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout);
    };

    it('edits and shows a model: models edit, models show', async () => {
      expect(await json('models', 'edit', 'scorer', '--owner', 'fraud-team', '--tag', 'tabular', '--tag', 'cards')).toMatchObject({
        owner: 'fraud-team',
        tags: ['tabular', 'cards'],
      });
      const shown = await cli('models', 'show', 'scorer');
      expect(shown.stdout).toMatch(/owner:\s+fraud-team/);
      expect(shown.stdout).toMatch(/tags:\s+tabular, cards/);
      expect((await json('models', 'edit', 'scorer', '--description', '')).description).toBeNull();
      expect((await json('models', 'edit', 'scorer', '--no-tags')).tags).toEqual([]);
      const nothing = await cli('models', 'edit', 'scorer');
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toContain('nothing to change');
    });

    it('tags a version and lists by tag: gatehouse tag, versions list --tag, versions edit, versions show', async () => {
      expect((await json('tag', 'scorer@1.0.0', 'approved-by=alice', 'ticket=RISK-12', '--rm', 'team')).tags).toEqual({ 'approved-by': 'alice', ticket: 'RISK-12' });
      const listed = await json('versions', 'list', 'scorer', '--tag', 'ticket=RISK-12', '--tag', 'approved-by');
      expect(listed.map((version: { version: string }) => version.version)).toEqual(['1.0.0']);
      expect((await json('versions', 'edit', 'scorer@1.0.0', '--description', 'the baseline')).description).toBe('the baseline');
      const shown = await cli('versions', 'show', 'scorer@1.0.0');
      expect(shown.stdout).toMatch(/tags:\s+approved-by=alice, ticket=RISK-12/);
      expect(shown.stdout).toMatch(/description:\s+the baseline/);

      const badAssignment = await cli('tag', 'scorer@1.0.0', 'no-equals-sign');
      expect(badAssignment.code).toBe(2);
      expect(badAssignment.stderr).toContain('"no-equals-sign" is not key=value');
      const badKey = await cli('tag', 'scorer@1.0.0', '-x=1');
      expect(badKey.code).not.toBe(0);
    });
  });
});
