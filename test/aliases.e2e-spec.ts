import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';

const classifier = standardFixtures().classifier.model;

/** Aliases: named pointers to versions, moved atomically and audited, protected where the policy says (the shipped one protects champion). */
describe('aliases', () => {
  let registry: TestRegistry;
  let engineer: ApiClient;
  let approver: ApiClient;
  let reader: ApiClient;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '0' });
    const client = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
    engineer = await client('engineer', ['ml_engineer']);
    approver = await client('approver', ['approver']);
    reader = await client('reader', ['reader']);
    for (const version of ['1.0.0', '1.1.0']) {
      const registered = await registerVersion(engineer, {
        model: 'scorer',
        version,
        task: 'classification',
        files: { 'model.onnx': classifier.bytes },
        schema: classifier.schema,
      });
      expect(registered.status).toBe(200);
    }
    expect((await engineer.post('/v1/models/scorer/versions', { version: '2.0.0', task: 'classification' })).status).toBe(201);
  });
  afterAll(() => registry?.close());

  const aliasEvents = async () =>
    ((await registry.admin.get('/v1/audit?subject=model:scorer')).body.items as { action: string; actor: string; payload: any }[])
      .filter((event) => event.action.startsWith('alias.'))
      .reverse();

  it('creates and moves an alias atomically, resolves it as a version, and audits every move', async () => {
    const created = await engineer.putJson('/v1/models/scorer/aliases/challenger', { version: '1.0.0' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ model: 'scorer', alias: 'challenger', version: '1.0.0', setBy: 'engineer', protected: false });
    const moved = await engineer.putJson('/v1/models/scorer/aliases/challenger', { version: '1.1.0' });
    expect(moved.body.version).toBe('1.1.0');
    // Already there: nothing to audit.
    await engineer.putJson('/v1/models/scorer/aliases/challenger', { version: '1.1.0' });

    const resolved = await reader.get('/v1/models/scorer/versions/challenger');
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ version: '1.1.0', aliases: ['challenger'] });
    const download = await reader.get('/v1/models/scorer/versions/challenger/files/model.onnx');
    expect(download.status).toBe(200);
    expect(Buffer.compare(download.body as Buffer, Buffer.from(classifier.bytes))).toBe(0);
    const listed = (await reader.get('/v1/models/scorer/versions')).body.items.map((item: { version: string; aliases: string[] }) => [item.version, item.aliases]);
    expect(listed).toEqual([
      ['2.0.0', []],
      ['1.1.0', ['challenger']],
      ['1.0.0', []],
    ]);
    expect((await aliasEvents()).map((event) => [event.action, event.payload])).toEqual([
      ['alias.set', { alias: 'challenger', from: null, to: '1.0.0' }],
      ['alias.set', { alias: 'challenger', from: '1.0.0', to: '1.1.0' }],
    ]);
  });

  it("lets only the policy's roles move a protected alias, admin included only if listed", async () => {
    const refused = await engineer.putJson('/v1/models/scorer/aliases/champion', { version: '1.0.0' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'role_required', details: { alias: 'champion', allowed: ['approver'], protected: true } });
    expect(refused.body.message).toBe('alias "champion" is protected by the promotion policy: only the roles approver may move it');
    expect((await registry.admin.putJson('/v1/models/scorer/aliases/champion', { version: '1.0.0' })).status).toBe(403);
    expect((await reader.putJson('/v1/models/scorer/aliases/anything', { version: '1.0.0' })).status).toBe(403);
    const set = await approver.putJson('/v1/models/scorer/aliases/champion', { version: '1.0.0' });
    expect(set.status).toBe(200);
    expect(set.body.protected).toBe(true);
    expect((await engineer.delete('/v1/models/scorer/aliases/champion')).status).toBe(403);
    // An approver may not move ordinary aliases: the policy's setters are ml_engineer and data_scientist.
    expect((await approver.putJson('/v1/models/scorer/aliases/challenger', { version: '1.0.0' })).status).toBe(403);
    expect((await reader.get('/v1/models/scorer/versions/champion')).body.version).toBe('1.0.0');
  });

  it('refuses bad names, reserved names, pending and unknown versions, and unknown aliases, changing nothing', async () => {
    const badName = await engineer.putJson('/v1/models/scorer/aliases/Champ', { version: '1.0.0' });
    expect(badName.status).toBe(400);
    expect(badName.body.message).toContain('an alias is 1-64 lowercase letters');
    for (const reserved of ['latest', 'production']) {
      const answer = await engineer.putJson(`/v1/models/scorer/aliases/${reserved}`, { version: '1.0.0' });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('alias_reserved');
    }
    const pending = await engineer.putJson('/v1/models/scorer/aliases/next', { version: '2.0.0' });
    expect(pending.status).toBe(409);
    expect(pending.body.error).toBe('alias_target_not_committed');
    expect((await engineer.putJson('/v1/models/scorer/aliases/next', { version: '9.9.9' })).status).toBe(404);
    expect((await engineer.putJson('/v1/models/nobody/aliases/next', { version: '1.0.0' })).status).toBe(404);
    expect((await engineer.putJson('/v1/models/scorer/aliases/next', {})).status).toBe(400);
    expect((await reader.get('/v1/models/scorer/versions/next')).status).toBe(404);
    expect((await reader.get('/v1/models/scorer/aliases/next')).status).toBe(404);
    expect((await engineer.delete('/v1/models/scorer/aliases/next')).status).toBe(404);
  });

  it('applies concurrent first sets of one alias one after the other, each audited from the version before', async () => {
    const targets = ['1.0.0', '1.1.0', '1.0.0', '1.1.0', '1.0.0', '1.1.0'];
    const answers = await Promise.all(targets.map((version) => engineer.putJson('/v1/models/scorer/aliases/race', { version })));
    expect(answers.map((answer) => answer.status)).toEqual(targets.map(() => 200));
    const chain = (await aliasEvents()).filter((event) => event.payload.alias === 'race').map((event) => event.payload);
    expect(chain[0].from).toBeNull();
    for (let index = 1; index < chain.length; index++) expect(chain[index].from).toBe(chain[index - 1].to);
    expect((await reader.get('/v1/models/scorer/aliases/race')).body.version).toBe(chain.at(-1).to);
  });

  it('lists and removes aliases, audited', async () => {
    const list = await reader.get('/v1/models/scorer/aliases');
    expect(list.body.items.map((item: { alias: string; version: string }) => `${item.alias}@${item.version}`)).toEqual(
      expect.arrayContaining(['challenger@1.1.0', 'champion@1.0.0']),
    );
    const removed = await engineer.delete('/v1/models/scorer/aliases/challenger');
    expect(removed.status).toBe(200);
    expect(removed.body.version).toBe('1.1.0');
    expect((await reader.get('/v1/models/scorer/versions/challenger')).status).toBe(404);
    expect((await aliasEvents()).at(-1)).toMatchObject({ action: 'alias.deleted', actor: 'engineer', payload: { alias: 'challenger', from: '1.1.0' } });
  });

  it('from the CLI: alias set, list, rm, and model@alias wherever a version is named', async () => {
    const home = await mkdtemp(join(tmpdir(), 'gatehouse-alias-cli-'));
    try {
      const cli = (...argv: string[]) =>
        runCaptured(argv, { HOME: home, GATEHOUSE_CONFIG: join(home, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: engineer.token! }, home);
      const set = await cli('alias', 'set', 'scorer@1.1.0', 'shadow');
      expect(set.code).toBe(0);
      expect(set.stdout).toBe('scorer@shadow → 1.1.0\n');
      const listed = await cli('alias', 'list', 'scorer');
      expect(listed.stdout).toMatch(/shadow\s+1\.1\.0\s+engineer/);
      expect(listed.stdout).toMatch(/champion\s+1\.0\.0\s+approver\s+\S+\s+yes/);
      expect((await cli('versions', 'show', 'scorer@shadow')).stdout).toMatch(/version:\s+scorer@1\.1\.0/);
      const protectedOne = await cli('alias', 'set', 'scorer@1.1.0', 'champion');
      expect(protectedOne.code).toBe(1);
      expect(protectedOne.stderr).toContain('only the roles approver may move it');
      const removed = await cli('alias', 'rm', 'scorer', 'shadow');
      expect(removed.stdout).toBe('scorer@shadow removed (it pointed at 1.1.0)\n');
      expect(JSON.parse((await cli('--json', 'alias', 'list', 'scorer')).stdout).items.map((item: { alias: string }) => item.alias)).not.toContain('shadow');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
