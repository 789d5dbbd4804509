import { constants, createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { buildStatement, comparePathComponents, OMS_PREDICATE_TYPE } from './oms-format';
import { compareWithFiles, parseBundle, readStatement, SignatureProblem, signStatement, verifyEnvelope } from './oms-bundle';
import { publicKeyHint } from './signing-keys';

const digest = (text: string) => createHash('sha256').update(text).digest('hex');
const files = [
  { path: 'weights/layer-1.bin', sha256: digest('w1') },
  { path: 'config.json', sha256: digest('cfg') },
  { path: 'weights-extra.bin', sha256: digest('x') },
];

const KEYS: [string, () => { privateKey: KeyObject; publicKey: KeyObject }][] = [
  ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ['EC P-521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' })],
  ['Ed25519', () => generateKeyPairSync('ed25519')],
  ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
];

describe('OMS bundles', () => {
  it.each(KEYS)('round-trips a %s signature', (_name, generate) => {
    const { privateKey, publicKey } = generate();
    const bundle = parseBundle(JSON.parse(JSON.stringify(signStatement(buildStatement('m', files), privateKey))));
    expect(bundle.verificationMaterial.publicKey?.hint).toBe(publicKeyHint(publicKey));
    expect(() => verifyEnvelope(bundle, publicKey)).not.toThrow();
    expect(() => verifyEnvelope(bundle, generate().publicKey)).toThrow(SignatureProblem);
  });

  it('verifies with an independent implementation of the format', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundle = signStatement(buildStatement('fraud', files, ['model.sig']), privateKey);

    // Rebuilt by hand from the specs: in-toto Statement v1, OMS predicate, DSSE PAE.
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const statement = JSON.parse(payload.toString('utf8'));
    const byComponents = ['config.json', 'weights/layer-1.bin', 'weights-extra.bin'];
    expect(statement.predicate.resources.map((r: { name: string }) => r.name)).toEqual(byComponents);
    const rawDigests = Buffer.concat(byComponents.map((p) => Buffer.from(files.find((f) => f.path === p)!.sha256, 'hex')));
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'fraud', digest: { sha256: createHash('sha256').update(rawDigests).digest('hex') } }],
      predicateType: 'https://model_signing/signature/v1.0',
      predicate: {
        serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['model.sig'] },
        resources: byComponents.map((p) => ({ name: p, algorithm: 'sha256', digest: files.find((f) => f.path === p)!.sha256 })),
      },
    });
    const type = 'application/vnd.in-toto+json';
    const preAuth = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${payload.length} `), payload]);
    expect(verify('sha256', preAuth, publicKey, Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64'))).toBe(true);
    const spkiPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(bundle.verificationMaterial.publicKey?.hint).toBe(createHash('sha256').update(spkiPem).digest('hex'));
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
  });

  it('accepts RSA PKCS#1 v1.5 signatures as well as PSS', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const bundle = signStatement(buildStatement('m', files), privateKey);
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const type = bundle.dsseEnvelope.payloadType;
    const preAuth = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${payload.length} `), payload]);
    bundle.dsseEnvelope.signatures[0].sig = sign('sha256', preAuth, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }).toString('base64');
    expect(() => verifyEnvelope(bundle, createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })))).not.toThrow();
  });

  it('detects a tampered statement and an inconsistent subject', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const bundle = signStatement(buildStatement('m', files), privateKey);
    const statement = readStatement(bundle);
    statement.predicate.resources[0].digest = digest('evil');
    const forged = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') } };
    expect(() => verifyEnvelope(forged, publicKey)).toThrow('does not verify');
    expect(() => readStatement(forged)).toThrow('subject digest');
    expect(OMS_PREDICATE_TYPE).toBe(statement.predicateType);
  });

  it('names missing, extra and changed files, and honours only allowed ignore paths', () => {
    const statement = buildStatement('m', files, ['model.sig']);
    const actual = [
      { path: 'config.json', sha256: digest('cfg-changed') },
      { path: 'weights/layer-1.bin', sha256: digest('w1') },
      { path: 'new.bin', sha256: digest('n') },
      { path: 'model.sig', sha256: digest('sig') },
    ];
    expect(compareWithFiles(statement, actual, ['model.sig'])).toEqual({
      missing: ['weights-extra.bin'],
      extra: ['new.bin'],
      changed: [{ path: 'config.json', signed: digest('cfg'), actual: digest('cfg-changed') }],
    });
    expect(() => compareWithFiles(statement, actual, [])).toThrow('ignores paths policy does not allow: model.sig');
  });
});

describe('comparePathComponents', () => {
  it('orders by path components, not by raw string', () => {
    // As strings "a-b" < "a/b" ('-' < '/'); by components "a" < "a-b".
    expect(['a-b/c', 'a/b', 'a.txt', 'a/a/z', 'a'].sort(comparePathComponents)).toEqual(['a', 'a/a/z', 'a/b', 'a-b/c', 'a.txt']);
  });
});
