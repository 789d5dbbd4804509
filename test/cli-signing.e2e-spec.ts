import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelSigningBundle } from './fixtures/model-signing-bundles';
import { runCaptured } from './support/cli-runner';
import { startRegistry, type TestRegistry } from './support/registry';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** `gatehouse sign MODEL@VERSION` signs a committed version's manifest with a local key; `gatehouse sign DIR` still signs a directory offline. */
describe('gatehouse sign against a running registry', () => {
  let registry: TestRegistry;
  let workDir: string;
  let env: Record<string, string>;
  const files = { 'model.onnx': randomBytes(20_000), 'labels.txt': Buffer.from('legit\nfraud\n') };

  const gatehouse = (...argv: string[]) => runCaptured(argv, env, workDir);

  /** A model directory holding `files` and `extra`. */
  async function modelDir(name: string, extra: Record<string, Buffer> = {}): Promise<string> {
    const dir = join(workDir, name);
    await mkdir(dir);
    for (const [path, bytes] of Object.entries({ ...files, ...extra })) await writeFile(join(dir, path), bytes);
    return dir;
  }

  beforeAll(async () => {
    registry = await startRegistry('embedded');
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-sign-'));
    env = { GATEHOUSE_CONFIG: join(workDir, 'config.json'), HOME: workDir };
    expect((await gatehouse('login', '--url', registry.url, '--token', registry.adminToken)).code).toBe(0);
    expect((await gatehouse('keys', 'generate', '--out', 'release')).code).toBe(0);
    expect((await gatehouse('signers', 'add', 'release', '--key', 'release.pub.pem')).code).toBe(0);
    await modelDir('fraud-model');
  });
  afterAll(async () => {
    await registry?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('signs a committed, unsigned version over the registry manifest, then refuses to sign it again', async () => {
    expect((await gatehouse('register', 'fraud-model', '--model', 'fraud', '--version', '1.0.0', '--create-model')).code).toBe(0);
    expect(JSON.parse((await gatehouse('--json', 'versions', 'show', 'fraud@1.0.0')).stdout).signature).toBeNull();

    const signed = await gatehouse('sign', 'fraud@1.0.0', '--key', 'release.pem');
    expect(signed).toMatchObject({ code: 0, stderr: '' });
    expect(signed.stdout).toMatch(/^signed fraud@1\.0\.0 \(2 files, manifest [0-9a-f]{64}\) as release\n$/);
    expect(JSON.parse((await gatehouse('--json', 'versions', 'show', 'fraud@1.0.0')).stdout).signature).toMatchObject({ signer: 'release' });
    const verified = await gatehouse('verify', 'fraud@1.0.0');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('signature: valid, by release');
    expect(await readFile(join(workDir, 'fraud-model', 'model.sig')).catch(() => undefined)).toBeUndefined();

    const again = await gatehouse('sign', 'fraud@1.0.0', '--key', 'release.pem');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error already_signed: version fraud@1.0.0 is already signed by release');
  });

  it('signs as a certificate issued by a trusted CA, and refuses a key nobody trusts naming the reason', async () => {
    expect((await gatehouse('keys', 'generate', '--out', 'team-ca', '--certificate', 'self-signed', '--ca')).code).toBe(0);
    expect((await gatehouse('keys', 'generate', '--out', 'ci', '--certificate', 'issued', '--issuer-key', 'team-ca.pem', '--issuer-cert', 'team-ca.crt')).code).toBe(0);
    expect((await gatehouse('signers', 'add', 'team-ca', '--cert', 'team-ca.crt')).code).toBe(0);
    expect((await gatehouse('keys', 'generate', '--out', 'stranger')).code).toBe(0);
    expect((await gatehouse('register', 'fraud-model', '--model', 'fraud', '--version', '1.1.0')).code).toBe(0);

    const untrusted = await gatehouse('sign', 'fraud@1.1.0', '--key', 'stranger.pem');
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain('error signature_rejected: signature rejected: no trusted signer has key');
    const certified = await gatehouse('--json', 'sign', 'fraud@1.1.0', '--key', 'ci.pem', '--certificate', 'ci.crt');
    expect(certified.code).toBe(0);
    expect(JSON.parse(certified.stdout).signature.signer).toBe('team-ca');
  });

  it('says what is wrong with the target: a version not committed or absent, and directory-only flags', async () => {
    expect((await gatehouse('sign', 'fraud@9.9.9', '--key', 'release.pem')).stderr).toContain('error version_not_found');
    expect((await registry.admin.post('/v1/models/fraud/versions', { version: '4.0.0', task: 'other' })).status).toBe(201);
    const pending = await gatehouse('sign', 'fraud@4.0.0', '--key', 'release.pem');
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('error version_not_committed: version fraud@4.0.0 is not committed yet');
    const mixed = await gatehouse('sign', 'fraud@1.0.0', '--key', 'release.pem', '--output', 'x.sig');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--output and --model-name go with a directory');
  });

  it('still signs a directory offline when the target is a path, even one named like a version', async () => {
    await modelDir('fraud@2.0.0');
    const offline = await gatehouse('sign', './fraud@2.0.0', '--key', 'release.pem');
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('signed 2 files; bundle written to');
    expect((await gatehouse('verify', '--offline', './fraud@2.0.0', '--key', 'release.pub.pem')).code).toBe(0);
  });

  it('registers with a model_signing bundle whose ignore paths match nothing uploaded, and refuses one that leaves an uploaded file unsigned, naming it', async () => {
    const privateKey = createPrivateKey(await readFile(join(workDir, 'release.pem'), 'utf8'));
    const digests = Object.entries(files).map(([path, bytes]) => ({ path, sha256: sha256(bytes) }));
    const bundle = JSON.stringify(modelSigningBundle({ modelDir: 'fraud-model', files: digests, ignorePaths: ['README.md'], privateKey }));

    const clean = await modelDir('signed-elsewhere');
    await writeFile(join(clean, 'model.sig'), bundle);
    expect((await gatehouse('register', 'signed-elsewhere', '--model', 'fraud', '--version', '3.0.0', '--signature', 'signed-elsewhere/model.sig')).code).toBe(0);

    const withReadme = await modelDir('with-readme', { 'README.md': Buffer.from('# fraud\n') });
    await writeFile(join(withReadme, 'model.sig'), bundle);
    const refused = await gatehouse('register', 'with-readme', '--model', 'fraud', '--version', '3.1.0', '--signature', 'with-readme/model.sig');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('in the version but not signed: README.md (left out by the signature\'s ignore_paths entry "README.md")');
  });
});
