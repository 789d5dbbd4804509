import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import { runCaptured } from './support/cli-runner';
import { finishedGate, registerVersion, trustedSigningKey } from './support/model-registration';
import { startRegistry, WITHOUT_CANARY_ANALYSIS, type TestRegistry } from './support/registry';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;

/** The four user tasks from the command line: register, promote (with approvals), roll back, audit lineage. */
describe('gatehouse promote, approve, reject, rollback, stages, history, lineage', () => {
  let registry: TestRegistry;
  let workDir: string;
  const tokens: Record<string, string> = {};
  const as =
    (who: string) =>
    (...argv: string[]) =>
      runCaptured(argv, { HOME: workDir, GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: tokens[who] }, workDir);
  const json = async (who: string, ...argv: string[]) => {
    const result = await as(who)('--json', ...argv);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  };

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50', ...WITHOUT_CANARY_ANALYSIS });
    tokens.admin = registry.adminToken;
    for (const [name, roles] of [
      ['engineer', ['ml_engineer']],
      ['approver-a', ['approver']],
      ['approver-b', ['approver']],
    ] as const) {
      tokens[name] = (await registry.admin.post('/v1/tokens', { name, roles })).body.token;
    }
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-promote-'));
    await mkdir(join(workDir, 'v1.1.0'));
    await writeFile(join(workDir, 'v1.1.0', 'model.onnx'), classifier.model.bytes);
    await writeFile(join(workDir, 'schema.json'), JSON.stringify(classifier.model.schema));
    await writeFile(join(workDir, 'params.json'), JSON.stringify({ epochs: 40, learning_rate: 0.05 }));

    // Production requires a trusted signature: the CLI signs 1.1.0 with this key, the others are signed in the API calls.
    const releaseKey = await trustedSigningKey(registry.admin, 'release');
    await writeFile(join(workDir, 'release.pem'), releaseKey.export({ type: 'pkcs8', format: 'pem' }));

    const engineer = registry.admin.withToken(tokens.engineer);
    const evaluation = [{ role: 'evaluation' as const, name: 'scorer-eval', content: jsonLines(classifier.evaluation) }];
    const base = { model: 'scorer', task: 'classification' as const, files: { 'model.onnx': classifier.model.bytes }, datasets: evaluation, signWith: releaseKey };
    for (const version of ['1.0.0', '1.3.0']) expect((await registerVersion(engineer, { ...base, version, schema: classifier.model.schema })).status).toBe(200);
    // No evaluation dataset: the registration gate skips evaluation, staging requires it.
    expect((await registerVersion(engineer, { ...base, version: '1.2.0', schema: classifier.model.schema, datasets: [] })).status).toBe(200);
    for (const version of ['1.0.0', '1.2.0', '1.3.0']) expect((await finishedGate(engineer, 'scorer', version)).status).toBe('passed');
  });
  afterAll(async () => {
    await registry?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const toProduction = async (version: string) => {
    expect((await json('engineer', 'promote', `scorer@${version}`, '--to', 'staging', '--wait')).status).toBe('completed');
    const canary = await as('engineer')('promote', `scorer@${version}`, '--to', 'canary', '--traffic', '10', '--wait');
    expect(canary.code).toBe(0);
    expect(canary.stdout).toMatch(/version:\s+scorer@\S+ → canary \(10% of keys\)/);
    expect(canary.stdout).toMatch(/status:\s+completed/);
    const production = await as('engineer')('promote', `scorer@${version}`, '--to', 'production', '--reason', `ship ${version}`, '--wait');
    expect(production.code).toBe(0);
    expect(production.stdout).toMatch(/status:\s+awaiting_approval/);
    expect(production.stdout).toMatch(/approvals:\s+0 of 2/);
    const id = /gatehouse approve (\S+)/.exec(production.stdout)![1];
    expect((await json('approver-a', 'approve', id, '--comment', 'metrics hold')).status).toBe('awaiting_approval');
    const second = await as('approver-b')('approve', id);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/status:\s+completed/);
    expect(second.stdout).toContain('approved by approver-a at');
    expect(second.stdout).toContain(': "metrics hold"');
    return id;
  };

  it('registers with lineage, promotes to production with two approvals, rolls back, and shows it all', async () => {
    await toProduction('1.0.0');
    // One a page: --all follows the cursors, without it the first page is all there is.
    const promotions = await json('engineer', 'promotions', 'scorer@1.0.0', '--limit', '1', '--all');
    expect(promotions.map((promotion: { stage: string }) => promotion.stage)).toEqual(['production', 'canary', 'staging']);
    expect(await json('engineer', 'promotions', 'scorer@1.0.0', '--limit', '1')).toHaveLength(1);
    const runs = await json('engineer', 'gate-runs', 'scorer@1.0.0', '--limit', '1', '--all');
    expect(runs.map((run: { stage: string }) => run.stage)).toEqual(['production', 'canary', 'staging', 'registered']);
    expect((await as('engineer')('gate-runs', 'scorer@1.0.0')).stdout).toMatch(/^ID\s+STAGE\s+STATUS\s+HEALTH\s+CREATED\n[- ]+\n\S+\s+production\s+passed\s+100\s/);
    const registered = await as('engineer')(
      'register',
      'v1.1.0',
      '--model',
      'scorer',
      '--version',
      '1.1.0',
      '--task',
      'classification',
      '--schema',
      'schema.json',
      '--params',
      'params.json',
      '--commit',
      '4f2a9c1',
      '--source-repo',
      'git@example.com:ml/scorer.git',
      '--parent',
      'scorer@1.0.0:fine_tuned_from',
      '--dataset',
      'scorer-eval@1:evaluation',
      '--sign',
      'release.pem',
    );
    expect(registered.code).toBe(0);
    expect((await finishedGate(registry.admin, 'scorer', '1.1.0')).status).toBe('passed');
    await toProduction('1.1.0');

    const stages = await as('engineer')('stages', 'scorer');
    expect(stages.stdout).toMatch(/production\s+1\.1\.0\s+-\s+engineer/);
    expect(stages.stdout).toMatch(/canary\s+-/);

    const rollback = await as('engineer')('rollback', 'scorer', '--reason', 'p99 doubled');
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toBe('scorer production: 1.1.0 rolled back, 1.0.0 serves again\n');
    const nothing = await as('engineer')('rollback', 'scorer', '--reason', 'again');
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('error nothing_to_roll_back');

    const history = await as('engineer')('history', 'scorer');
    const moves = history.stdout.split('\n').slice(2, 5);
    expect(moves[0]).toMatch(/1\.0\.0\s+restored to production by engineer · "p99 doubled"/);
    expect(moves[1]).toMatch(/1\.1\.0\s+rolled back from production by engineer · "p99 doubled"/);
    expect(moves[2]).toMatch(/1\.1\.0\s+promoted to production by engineer, approved by approver-a, approver-b · gate run \S+ · "ship 1\.1\.0"/);

    const lineage = await as('engineer')('lineage', 'scorer@1.1.0');
    expect(lineage.code).toBe(0);
    const lines = lineage.stdout.split('\n');
    expect(lines[0]).toBe('scorer@1.1.0  [validated · rolled_back · classification]');
    expect(lineage.stdout).toContain('├── source: git@example.com:ml/scorer.git · commit 4f2a9c1');
    expect(lineage.stdout).toMatch(/├── training config\n│ {3}├── epochs: 40\n│ {3}└── learning_rate: 0\.05/);
    expect(lineage.stdout).toMatch(/│ {3}├── \S+ {2}promoted to staging by engineer · gate run /);
    expect(lineage.stdout).toMatch(/│ {3}└── \S+ {2}rolled back from production by engineer · "p99 doubled"/);
    expect(lineage.stdout).toMatch(/├── datasets\n│ {3}└── scorer-eval@1 \(evaluation\) sha256:[0-9a-f]{64}/);
    expect(lineage.stdout).toMatch(/└── parent \(fine_tuned_from\): scorer@1\.0\.0 {2}\[validated · production · classification\]\n {4}├── stage history/);
    expect((await json('engineer', 'lineage', 'scorer@1.1.0')).edges).toEqual([
      { child: { model: 'scorer', version: '1.1.0' }, parent: { model: 'scorer', version: '1.0.0' }, relation: 'fine_tuned_from' },
    ]);
  });

  it('exits 1 naming the failed checks when the gate rejects a promotion it waited on', async () => {
    const result = await as('engineer')('promote', 'scorer@1.2.0', '--to', 'staging', '--wait');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/status:\s+rejected/);
    expect(result.stdout).toContain('failed checks: evaluation (gatehouse gate scorer@1.2.0 --stage staging)');
  });

  it('ends a request an approver rejects, and refuses misuse with usage errors', async () => {
    const requested = await json('engineer', 'promote', 'scorer@1.3.0', '--to', 'staging', '--wait');
    expect(requested.status).toBe('completed');
    const refused = await as('engineer')('promote', 'scorer@1.3.0', '--to', 'production');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error promotion_not_allowed: ');

    const canary = await json('engineer', 'promote', 'scorer@1.3.0', '--to', 'canary', '--traffic', '20', '--wait');
    expect(canary.status).toBe('completed');
    const production = await json('engineer', 'promote', 'scorer@1.3.0', '--to', 'production', '--wait');
    const rejected = await as('approver-a')('reject', production.id, '--comment', 'not this week');
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toMatch(/status:\s+rejected/);
    expect(rejected.stdout).toContain('rejected by approver-a at');
    expect((await json('engineer', 'promotion', production.id)).outcome.code).toBe('rejected_by_approver');

    const aborted = await as('engineer')('rollback', 'scorer', '--stage', 'canary', '--reason', 'error rate');
    expect(aborted.stdout).toBe('scorer canary: 1.3.0 aborted; production serves every request\n');

    expect((await as('engineer')('promote', 'scorer@1.3.0', '--to', 'moon')).code).toBe(2);
    expect((await as('engineer')('promote', 'scorer@1.3.0')).code).toBe(2);
    const badTraffic = await as('engineer')('promote', 'scorer@1.3.0', '--to', 'canary', '--traffic', 'ten');
    expect(badTraffic.code).toBe(2);
    expect(badTraffic.stderr).toContain('--traffic takes a whole number, not "ten"');
    expect((await as('engineer')('rollback', 'scorer')).code).toBe(2);
    expect((await as('engineer')('approve', production.id)).stderr).toContain('error role_required');
    const nothingWaiting = await as('approver-a')('approve', 'scorer@1.3.0');
    expect(nothingWaiting.code).toBe(2);
    expect(nothingWaiting.stderr).toContain('scorer@1.3.0 has no promotion request awaiting approval (gatehouse promote scorer@1.3.0 --to STAGE makes one)');
  });
});

describe('gatehouse approve model@version, with several requests of the version awaiting approval', () => {
  let registry: TestRegistry;
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-approve-'));
    const policy = join(workDir, 'promotion.json');
    // Staging and canary both take a validated version and need an approval, so one version can wait on both.
    await writeFile(
      policy,
      JSON.stringify({
        stages: { staging: { from: ['none'], approvals: 1 }, canary: { from: ['none', 'staging'], approvals: 1 }, production: { from: ['canary'], approvals: 2 } },
      }),
    );
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50', PROMOTION_POLICY: policy, ...WITHOUT_CANARY_ANALYSIS });
  });
  afterAll(async () => {
    await registry?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('names each request by id and stage instead of guessing, and approves the one named', async () => {
    const engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'engineer', roles: ['ml_engineer'] })).body.token);
    const approver = (await registry.admin.post('/v1/tokens', { name: 'approver', roles: ['approver'] })).body.token as string;
    const datasets = [{ role: 'evaluation' as const, name: 'scorer-eval', content: jsonLines(classifier.evaluation) }];
    const registered = await registerVersion(engineer, {
      model: 'scorer',
      version: '2.0.0',
      task: 'classification',
      files: { 'model.onnx': classifier.model.bytes },
      schema: classifier.model.schema,
      datasets,
    });
    expect(registered.status).toBe(200);
    expect((await finishedGate(engineer, 'scorer', '2.0.0')).status).toBe('passed');
    const cli =
      (token: string) =>
      (...argv: string[]) =>
        runCaptured(argv, { HOME: workDir, GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: token }, workDir);
    const approve = (reference: string) => cli(approver)('approve', reference);
    const promote = async (...argv: string[]) => JSON.parse((await cli(engineer.token!)('--json', 'promote', ...argv)).stdout);
    const staging = await promote('scorer@2.0.0', '--to', 'staging', '--wait');
    const canary = await promote('scorer@2.0.0', '--to', 'canary', '--traffic', '5', '--wait');
    expect([staging.status, canary.status]).toEqual(['awaiting_approval', 'awaiting_approval']);

    const ambiguous = await approve('scorer@2.0.0');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('scorer@2.0.0 has 2 requests awaiting approval; name one by its id: ');
    expect(ambiguous.stderr).toContain(`${staging.id} (staging)`);
    expect(ambiguous.stderr).toContain(`${canary.id} (canary)`);
    expect((await registry.admin.get(`/v1/promotions/${staging.id}`)).body.status).toBe('awaiting_approval');

    const named = await approve(staging.id);
    expect(named.code).toBe(0);
    expect(named.stdout).toMatch(/status:\s+completed/);
    expect((await registry.admin.get(`/v1/promotions/${canary.id}`)).body.status).toBe('awaiting_approval');
    const single = await approve('scorer@2.0.0');
    expect(single.code).toBe(0);
    expect(single.stdout).toContain(canary.id);
    expect((await registry.admin.get(`/v1/promotions/${canary.id}`)).body.status).toBe('completed');
  });
});
