import { constants, createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { modelSigningBundle } from '../../../test/fixtures/model-signing-bundles';
import { buildStatement, comparePathComponents, OMS_PREDICATE_TYPE, type OmsStatement } from './oms-format';
import { compareWithFiles, describeDifferences, parseBundle, readStatement, SignatureProblem, signStatement, verifyEnvelope } from './oms-bundle';
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
    expect(payload.toString('utf8')).toBe(JSON.stringify(statement, null, 2));
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

  it('names missing, unsigned and changed files, and which ignore_paths entry left a file unsigned', () => {
    const statement = buildStatement('m', files, ['model.sig', 'docs', '.git/', '.github']);
    const actual = [
      { path: 'config.json', sha256: digest('cfg-changed') },
      { path: 'weights/layer-1.bin', sha256: digest('w1') },
      { path: 'new.bin', sha256: digest('n') },
      { path: 'docs/card.md', sha256: digest('card') },
      { path: 'docs-old/card.md', sha256: digest('old card') },
      { path: '.git/HEAD', sha256: digest('ref') },
    ];
    expect(compareWithFiles(statement, actual)).toEqual({
      missing: ['weights-extra.bin'],
      unsigned: [{ path: '.git/HEAD', ignoredBy: '.git/' }, { path: 'docs/card.md', ignoredBy: 'docs' }, { path: 'docs-old/card.md' }, { path: 'new.bin' }],
      changed: [{ path: 'config.json', signed: digest('cfg'), actual: digest('cfg-changed') }],
    });
    expect(describeDifferences(compareWithFiles(statement, actual))).toBe(
      "the signed files differ from the version's (changed: config.json; signed but not in the version: weights-extra.bin; " +
        'in the version but not signed: .git/HEAD (left out by the signature\'s ignore_paths entry ".git/"), docs/card.md (left out by the signature\'s ignore_paths entry "docs"), docs-old/card.md, new.bin)' +
        '; every file of a version must be signed: sign it too, or leave it out of the version',
    );
  });

  it('accepts ignore_paths entries that match no file of the version, and an ignore entry of the whole directory leaves every file unsigned', () => {
    const everything = buildStatement('m', files, ['model.sig', '.git', '.gitattributes', '.github', '.gitignore', 'README.md', 'notes/']);
    expect(compareWithFiles(everything, files)).toEqual({ missing: [], unsigned: [], changed: [] });
    expect(compareWithFiles(buildStatement('m', [], ['.']), files).unsigned).toEqual([
      { path: 'config.json', ignoredBy: '.' },
      { path: 'weights/layer-1.bin', ignoredBy: '.' },
      { path: 'weights-extra.bin', ignoredBy: '.' },
    ]);
  });

  it('leaves ignore_paths out when nothing is ignored, as model_signing does, and reads statements either way', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const bare = readStatement(signStatement(buildStatement('m', files), privateKey));
    expect(bare.predicate.serialization).toEqual({ method: 'files', hash_type: 'sha256', allow_symlinks: false });
    expect(compareWithFiles(bare, files)).toEqual({ missing: [], unsigned: [], changed: [] });
  });

  it.each([
    ['unsupported_serialization', 'shards', (s: OmsStatement) => ({ ...s, predicate: { ...s.predicate, serialization: { ...s.predicate.serialization, method: 'shards' } } })],
    [
      'malformed_signature',
      'ignore_paths',
      (s: OmsStatement) => ({ ...s, predicate: { ...s.predicate, serialization: { ...s.predicate.serialization, ignore_paths: 'model.sig' } } }),
    ],
    [
      'malformed_signature',
      'resources',
      (s: OmsStatement) => ({ ...s, predicate: { ...s.predicate, resources: s.predicate.resources.map((r) => ({ ...r, algorithm: 'blake3' })) } }),
    ],
  ])('refuses a statement with %s (%s)', (code, _what, change) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const bundle = signStatement(change(buildStatement('m', files)) as OmsStatement, privateKey);
    expect(() => readStatement(bundle)).toThrow(expect.objectContaining({ code }));
  });
});

describe("model_signing's layout", () => {
  const signme = [
    { path: 'signme-2', sha256: digest('signme-2') },
    { path: 'signme-1', sha256: digest('signme-1') },
  ];

  it('signs exactly the payload model_signing 1.1 writes for `sign key --ignore-paths ignore-me`, and verifies it', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const bundle = modelSigningBundle({ modelDir: 'v1.1.0-elliptic-key', files: signme, ignorePaths: ['ignore-me'], privateKey });
    // The text of model_signing's own v1.1.0-elliptic-key test bundle, with these digests.
    const expected = [
      '{',
      '  "_type": "https://in-toto.io/Statement/v1",',
      '  "subject": [',
      '    {',
      '      "name": "v1.1.0-elliptic-key",',
      '      "digest": {',
      `        "sha256": "${createHash('sha256')
        .update(Buffer.from(digest('signme-1') + digest('signme-2'), 'hex'))
        .digest('hex')}"`,
      '      }',
      '    }',
      '  ],',
      '  "predicateType": "https://model_signing/signature/v1.0",',
      '  "predicate": {',
      '    "resources": [',
      ...['signme-1', 'signme-2'].flatMap((name, i) => [
        '      {',
        '        "algorithm": "sha256",',
        `        "name": "${name}",`,
        `        "digest": "${digest(name)}"`,
        i === 0 ? '      },' : '      }',
      ]),
      '    ],',
      '    "serialization": {',
      '      "allow_symlinks": false,',
      '      "method": "files",',
      '      "hash_type": "sha256",',
      '      "ignore_paths": [',
      '        ".git",',
      '        "model.sig",',
      '        "ignore-me",',
      '        ".gitattributes",',
      '        ".gitignore",',
      '        ".github"',
      '      ]',
      '    }',
      '  }',
      '}',
    ].join('\n');
    expect(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')).toBe(expected);
    expect(JSON.stringify(bundle)).toBe(
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          publicKey: {
            hint: createHash('sha256')
              .update(publicKey.export({ type: 'spki', format: 'pem' }))
              .digest('hex'),
          },
          tlogEntries: [],
        },
        dsseEnvelope: {
          payload: bundle.dsseEnvelope.payload,
          payloadType: 'application/vnd.in-toto+json',
          signatures: [{ sig: bundle.dsseEnvelope.signatures[0].sig, keyid: '' }],
        },
      }),
    );
    expect(() => verifyEnvelope(parseBundle(JSON.parse(JSON.stringify(bundle))), publicKey)).not.toThrow();
    expect(compareWithFiles(readStatement(bundle), signme)).toEqual({ missing: [], unsigned: [], changed: [] });
    expect(compareWithFiles(readStatement(bundle), [...signme, { path: 'ignore-me', sha256: digest('') }]).unsigned).toEqual([{ path: 'ignore-me', ignoredBy: 'ignore-me' }]);
  });

  it('records no ignore_paths with --no-ignore-git-paths and the signature outside the directory', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const statement = readStatement(modelSigningBundle({ modelDir: 'm', files: signme, signature: null, ignoreGitPaths: false, privateKey }));
    expect(statement.predicate.serialization).toEqual({ allow_symlinks: false, method: 'files', hash_type: 'sha256' });
  });
});

describe('comparePathComponents', () => {
  it('orders by path components, not by raw string', () => {
    // As strings "a-b" < "a/b" ('-' < '/'); by components "a" < "a-b".
    expect(['a-b/c', 'a/b', 'a.txt', 'a/a/z', 'a'].sort(comparePathComponents)).toEqual(['a', 'a/a/z', 'a/b', 'a-b/c', 'a.txt']);
  });
});
