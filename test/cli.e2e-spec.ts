import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobInspection } from './support/blob-inspection';
import { runCaptured } from './support/cli-runner';
import { startRegistry, type TestRegistry } from './support/registry';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('gatehouse CLI against a running registry', () => {
  let registry: TestRegistry;
  let workDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    registry = await startRegistry('embedded');
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
    env = { GATEHOUSE_CONFIG: join(workDir, 'config.json'), HOME: workDir };
  });
  afterAll(async () => {
    await registry?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  const gatehouse = (...argv: string[]) => runCaptured(argv, env, workDir);

  it('logs in, saving the URL and token privately', async () => {
    const login = await gatehouse('login', '--url', registry.url, '--token', registry.adminToken);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('as admin');
    expect(JSON.parse(await readFile(env.GATEHOUSE_CONFIG, 'utf8'))).toEqual({ url: registry.url, token: registry.adminToken });
    expect((await stat(env.GATEHOUSE_CONFIG)).mode & 0o777).toBe(0o600);
    const shown = await gatehouse('config', 'show');
    expect(shown.stdout).not.toContain(registry.adminToken);
  });

  it('refuses to log in with a bad token, exiting 2 and saying how to give a good one', async () => {
    const result = await gatehouse('login', '--url', registry.url, '--token', 'gh_wrong');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error token_invalid');
    expect(result.stderr).toContain('Give a valid API token with --token, $GATEHOUSE_TOKEN or gatehouse login');
  });

  it('exits 2 when the registry cannot be reached, naming the address and how to change it', async () => {
    const result = await gatehouse('--url', 'http://127.0.0.1:1', 'models', 'list');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error unreachable: cannot reach http://127.0.0.1:1');
    expect(result.stderr).toContain('Give its URL with --url, $GATEHOUSE_URL or gatehouse login');
  });

  it('creates and lists models as a table and as JSON', async () => {
    expect((await gatehouse('models', 'create', 'churn', '--owner', 'growth', '--tag', 'tabular')).code).toBe(0);
    const table = await gatehouse('models', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+OWNER\s+TAGS/);
    expect(table.stdout).toMatch(/churn\s+growth\s+tabular/);
    const json = await gatehouse('--json', 'models', 'list', '--all', '--limit', '1');
    expect(JSON.parse(json.stdout).map((m: { name: string }) => m.name)).toContain('churn');
  });

  it('adds a dataset under its SHA-256, finishes an interrupted one, and never replaces its bytes', async () => {
    const rows = Buffer.from('{"inputs":{"x":[1,2]},"label":0}\n{"inputs":{"x":[3,4]},"label":1}\n');
    await writeFile(join(workDir, 'eval.jsonl'), rows);
    await writeFile(join(workDir, 'other.jsonl'), Buffer.concat([rows, rows]));

    const added = await gatehouse('datasets', 'add', 'eval.jsonl', '--name', 'churn-eval', '--version', '2024-11', '--uri', 's3://lake/churn/2024-11');
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe(`registered churn-eval@2024-11: ${rows.length} B, sha256:${sha256(rows)}\n`);
    const stored = await registry.admin.get('/v1/datasets/churn-eval/2024-11/file');
    expect(Buffer.from(stored.body)).toEqual(rows);
    expect((await gatehouse('datasets', 'add', 'eval.jsonl', '--name', 'churn-eval', '--version', '2024-11')).stdout).toContain('already registered churn-eval@2024-11');

    const different = await gatehouse('datasets', 'add', 'other.jsonl', '--name', 'churn-eval', '--version', '2024-11');
    expect(different.code).toBe(1);
    expect(different.stderr).toContain(`churn-eval@2024-11 is already registered with sha256 ${sha256(rows)}; other.jsonl is ${sha256(Buffer.concat([rows, rows]))}`);

    // Declared by an earlier run that stopped before its upload.
    await registry.admin.post('/v1/datasets', { name: 'churn-eval', version: '2024-12', sha256: sha256(rows) });
    expect((await gatehouse('datasets', 'add', 'eval.jsonl', '--name', 'churn-eval', '--version', '2024-12')).stdout).toContain('registered churn-eval@2024-12');
    const shown = await gatehouse('--json', 'datasets', 'show', 'churn-eval@2024-12');
    expect(JSON.parse(shown.stdout)).toMatchObject({ stored: true, sha256: sha256(rows), size: rows.length });

    expect((await gatehouse('datasets', 'add', 'missing.jsonl', '--name', 'churn-eval', '--version', '3')).code).toBe(2);
    expect((await gatehouse('datasets', 'show', 'churn-eval')).code).toBe(2);
  });

  it('registers a directory with metrics and lineage, then shows and downloads it byte for byte', async () => {
    const source = join(workDir, 'model');
    await mkdir(join(source, 'weights'), { recursive: true });
    const files: Record<string, Buffer> = {
      'model.onnx': randomBytes(150_000),
      'weights/extra.bin': randomBytes(40_000),
      'config.json': Buffer.from('{"threshold":0.5}'),
    };
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(source, name), bytes);
    await symlink('/etc/passwd', join(source, 'leak'));
    await writeFile(join(workDir, 'metrics.json'), '{"val_accuracy":0.91}');

    const first = await gatehouse('register', source, '--model', 'churn', '--version', '1.0.0', '--task', 'classification', '--metrics', join(workDir, 'metrics.json'));
    expect(first.stderr).toContain('skipping symlink leak');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('registered churn@1.0.0: 3 files');
    const second = await gatehouse('register', join(source, 'config.json'), '--model', 'churn', '--version', '1.1.0', '--parent', 'churn@1.0.0:retrained_from');
    expect(second.code).toBe(0);

    const listed = JSON.parse((await gatehouse('--json', 'versions', 'list', 'churn')).stdout);
    expect(listed.map((v: { version: string; status: string }) => [v.version, v.status])).toEqual([
      ['1.1.0', 'registered'],
      ['1.0.0', 'registered'],
    ]);
    const shown = JSON.parse((await gatehouse('--json', 'versions', 'show', 'churn@1.0.0')).stdout);
    expect(shown.metrics).toEqual({ val_accuracy: 0.91 });
    expect(shown.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256])).toEqual([
      ['config.json', sha256(files['config.json'])],
      ['model.onnx', sha256(files['model.onnx'])],
      ['weights/extra.bin', sha256(files['weights/extra.bin'])],
    ]);
    const human = await gatehouse('versions', 'show', 'churn@1.1.0');
    expect(human.stdout).toContain('churn@1.0.0 (retrained_from)');

    const out = join(workDir, 'downloaded');
    expect((await gatehouse('download', 'churn@1.0.0', '--out', out)).code).toBe(0);
    for (const [name, bytes] of Object.entries(files)) expect(Buffer.compare(await readFile(join(out, name)), bytes)).toBe(0);

    const one = await gatehouse('download', 'churn@1.0.0', '--file', 'weights/extra.bin');
    expect(one.code).toBe(0);
    expect(Buffer.compare(await readFile(join(workDir, 'churn-1.0.0', 'weights', 'extra.bin')), files['weights/extra.bin'])).toBe(0);
    expect(await readdir(join(workDir, 'churn-1.0.0'))).toEqual(['weights']);
  });

  it('reports a corrupt stored file and leaves no partial download', async () => {
    const bytes = randomBytes(60_000);
    const dir = join(workDir, 'fragile');
    await mkdir(dir);
    await writeFile(join(dir, 'model.onnx'), bytes);
    expect((await gatehouse('register', dir, '--model', 'churn', '--version', '2.0.0')).code).toBe(0);
    const forged = Buffer.from(bytes);
    forged[0] ^= 1;
    await new BlobInspection(registry).overwrite(sha256(bytes), forged);
    const out = join(workDir, 'fragile-out');
    const result = await gatehouse('download', 'churn@2.0.0', '--out', out);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error blob_corrupt');
    await expect(stat(join(out, 'model.onnx'))).rejects.toThrow();
  });

  it('prints the error code for API errors and exits 1', async () => {
    const result = await gatehouse('versions', 'show', 'nosuch@1.0.0');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error model_not_found');
    const invalid = await gatehouse('register', workDir, '--model', 'churn', '--version', 'not-semver');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('error invalid_version');
  });

  it("names the flag a refused field came from, not the API's field", async () => {
    const version = await gatehouse('register', workDir, '--model', 'churn', '--version', 'not-semver');
    expect(version.stderr).toContain('  --version: --version must be a semantic version');
    const commit = await gatehouse('register', workDir, '--model', 'churn', '--version', '4.0.0', '--commit', 'not-a-hash!', '--parent', `churn@1.0.0:${'x'.repeat(65)}`);
    expect(commit.code).toBe(1);
    expect(commit.stderr).toMatch(/^error validation_failed: invalid request: --commit: --commit must be .* \| --parent #1 relation: relation must be/m);
    expect(commit.stderr).toMatch(/^ {2}--commit: --commit must be/m);
    expect(commit.stderr).toMatch(/^ {2}--parent #1 relation: relation must be/m);
    expect(commit.stderr).not.toContain('source.commit');
    expect(commit.stderr).not.toContain('parents.0');

    const canary = await gatehouse('promote', 'churn@1.0.0', '--to', 'canary');
    expect(canary.code).toBe(1);
    expect(canary.stderr).toBe('error invalid_traffic_percent: a canary needs --traffic, from 1 to 100\n  --traffic: a canary needs --traffic, from 1 to 100\n');
    const staging = await gatehouse('promote', 'churn@1.0.0', '--to', 'staging', '--traffic', '10');
    expect(staging.stderr).toContain('error invalid_traffic_percent: --traffic applies to canary only, not staging');
  });

  it('exits 2 on usage errors', async () => {
    expect((await gatehouse('versions', 'show', 'no-at-sign')).code).toBe(2);
    expect((await gatehouse('register', workDir, '--model', 'churn')).code).toBe(2);
    expect((await gatehouse('register', workDir, '--model', 'churn', '--version', '3.0.0', '--dataset', 'bad')).code).toBe(2);
    expect((await gatehouse('frobnicate')).code).toBe(2);
  });

  it('mints, lists and revokes tokens', async () => {
    const created = JSON.parse((await gatehouse('--json', 'tokens', 'create', 'pipeline', '--role', 'ml_engineer')).stdout);
    expect(created.token).toMatch(/^gh_/);
    expect((await gatehouse('tokens', 'list')).stdout).toMatch(/pipeline\s+ml_engineer/);
    expect((await gatehouse('tokens', 'revoke', created.id)).code).toBe(0);
    const rejected = await gatehouse('--token', created.token, 'models', 'list');
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain('error token_invalid');
  });

  it('generates keys, signs offline, registers signed versions and verifies them', async () => {
    expect((await gatehouse('keys', 'generate', '--type', 'ed25519', '--out', 'release')).code).toBe(0);
    expect((await stat(join(workDir, 'release.pem'))).mode & 0o777).toBe(0o600);
    const trusted = await gatehouse('--json', 'signers', 'add', 'release', '--key', 'release.pub.pem');
    expect(trusted.code).toBe(0);
    const signer = JSON.parse(trusted.stdout);

    const dir = join(workDir, 'signed-model');
    await mkdir(dir);
    await writeFile(join(dir, 'model.onnx'), randomBytes(30_000));
    await writeFile(join(dir, 'labels.txt'), 'cat\ndog\n');

    const signedOnTheWay = await gatehouse('register', 'signed-model', '--model', 'churn', '--version', '5.0.0', '--sign', 'release.pem');
    expect(signedOnTheWay.code).toBe(0);
    const shown = JSON.parse((await gatehouse('--json', 'versions', 'show', 'churn@5.0.0')).stdout);
    expect(shown.signature).toMatchObject({ signer: 'release', fingerprint: signer.fingerprint });
    const verified = await gatehouse('verify', 'churn@5.0.0');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('signature: valid, by release');

    // Offline: sign the directory, attach the bundle it wrote, and check the directory against it.
    expect((await gatehouse('sign', 'signed-model', '--key', 'release.pem', '--model-name', 'churn')).code).toBe(0);
    const withBundle = await gatehouse('register', 'signed-model', '--model', 'churn', '--version', '5.0.1', '--signature', 'signed-model/model.sig');
    expect(withBundle.code).toBe(0);
    expect(JSON.parse((await gatehouse('--json', 'versions', 'show', 'churn@5.0.1')).stdout).files.map((f: { path: string }) => f.path)).toEqual(['labels.txt', 'model.onnx']);
    expect((await gatehouse('verify', '--offline', 'signed-model', '--key', 'release.pub.pem')).code).toBe(0);

    await writeFile(join(dir, 'labels.txt'), 'cat\ndog\nbird\n');
    const tampered = await gatehouse('verify', '--offline', 'signed-model', '--key', 'release.pub.pem');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('changed: labels.txt');

    expect((await gatehouse('signers', 'revoke', signer.id)).code).toBe(0);
    const revoked = await gatehouse('verify', 'churn@5.0.0');
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toContain('signature: INVALID (signer_revoked)');
    const refused = await gatehouse('register', 'signed-model', '--model', 'churn', '--version', '5.0.2', '--sign', 'release.pem');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error signature_rejected');
  });

  it('issues a CA and a signing certificate, and signs and verifies with the chain', async () => {
    expect((await gatehouse('keys', 'generate', '--out', 'team-ca', '--certificate', 'self-signed', '--ca', '--subject', 'Team CA')).code).toBe(0);
    const issued = await gatehouse(
      'keys',
      'generate',
      '--type',
      'ec-p384',
      '--out',
      'ci-signer',
      '--certificate',
      'issued',
      '--issuer-key',
      'team-ca.pem',
      '--issuer-cert',
      'team-ca.crt',
    );
    expect(issued.code).toBe(0);
    const trusted = JSON.parse((await gatehouse('--json', 'signers', 'add', 'team-ca', '--cert', 'team-ca.crt')).stdout);
    expect(trusted).toMatchObject({ kind: 'ca', subject: 'CN=Team CA' });

    const dir = join(workDir, 'cert-model');
    await mkdir(dir);
    await writeFile(join(dir, 'model.onnx'), randomBytes(20_000));
    const registered = await gatehouse('register', 'cert-model', '--model', 'churn', '--version', '6.0.0', '--sign', 'ci-signer.pem', '--certificate', 'ci-signer.crt');
    expect(registered.code).toBe(0);
    expect(JSON.parse((await gatehouse('--json', 'versions', 'show', 'churn@6.0.0')).stdout).signature.signer).toBe('team-ca');

    expect((await gatehouse('sign', 'cert-model', '--key', 'ci-signer.pem', '--certificate', 'ci-signer.crt')).code).toBe(0);
    expect((await gatehouse('verify', '--offline', 'cert-model', '--cert', 'team-ca.crt')).code).toBe(0);
    await gatehouse('keys', 'generate', '--out', 'other-ca', '--certificate', 'self-signed', '--ca');
    const stranger = await gatehouse('verify', '--offline', 'cert-model', '--cert', 'other-ca.crt');
    expect(stranger.code).toBe(1);
    expect(stranger.stdout).toContain('untrusted_chain');
  });

  it('shows the audit trail of a model and verifies the chain', async () => {
    const trail = await gatehouse('audit', '--model', 'churn');
    expect(trail.code).toBe(0);
    expect(trail.stdout.split('\n')[0]).toMatch(/^SEQ\s+TIME\s+ACTOR\s+ACTION\s+SUBJECT/);
    expect(trail.stdout).toMatch(/admin\s+version\.committed\s+version:churn@1\.0\.0/);
    const json = JSON.parse((await gatehouse('--json', 'audit', '--model', 'churn', '--action', 'model.created')).stdout);
    expect(json).toEqual([expect.objectContaining({ subject: 'model:churn', actor: 'admin' })]);
    const verified = await gatehouse('audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('audit chain intact');

    await registry.sql(`UPDATE audit_events SET actor = 'mallory' WHERE action = 'model.created' AND subject = 'model:churn'`);
    const broken = await gatehouse('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('audit chain BROKEN at seq');
  });
});

describe('gatehouse register when an upload fails', () => {
  const maxFileSize = 1024 * 1024;
  let registry: TestRegistry;
  let workDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { MAX_FILE_SIZE: String(maxFileSize) });
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-resume-'));
    env = { GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: registry.adminToken };
  });
  afterAll(async () => {
    await registry?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  const gatehouse = (...argv: string[]) => runCaptured(argv, env, workDir);

  it('reports the refusal, keeps the version pending, and finishes it with --resume', async () => {
    await mkdir(join(workDir, 'model'));
    const small = randomBytes(10_000);
    await writeFile(join(workDir, 'model', 'a.bin'), small);
    // Large enough that the registry answers 413 long before the streamed body is sent.
    await writeFile(join(workDir, 'model', 'b.bin'), randomBytes(8 * maxFileSize));

    const refused = await gatehouse('register', 'model', '--model', 'big', '--version', '1.0.0', '--create-model');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error file_too_large');
    expect(refused.stderr).toContain('big@1.0.0 stays pending_upload');
    expect(refused.stderr).toContain('--resume');
    const pending = JSON.parse((await gatehouse('--json', 'versions', 'show', 'big@1.0.0')).stdout);
    expect(pending.status).toBe('pending_upload');
    expect(pending.files.map((f: { path: string }) => f.path)).toEqual(['a.bin']);

    const smaller = randomBytes(20_000);
    await writeFile(join(workDir, 'model', 'b.bin'), smaller);
    const resumed = await gatehouse('register', 'model', '--model', 'big', '--version', '1.0.0', '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('already uploaded a.bin');
    expect(resumed.stderr).toContain('uploaded b.bin');
    const registered = JSON.parse((await gatehouse('--json', 'versions', 'show', 'big@1.0.0')).stdout);
    expect(registered.status).toBe('registered');
    expect(registered.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256])).toEqual([
      ['a.bin', sha256(small)],
      ['b.bin', sha256(smaller)],
    ]);

    const again = await gatehouse('register', 'model', '--model', 'big', '--version', '1.0.0', '--resume');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('big@1.0.0 is already registered');
  });
});
