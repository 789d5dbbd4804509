import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { buildStatement, signStatement } from '@gatehouse/model-signing';
import { issueCertificate } from './fixtures/certificates';
import { modelSigningBundle } from './fixtures/model-signing-bundles';
import { standardFixtures } from './fixtures/onnx-models';
import { BlobInspection } from './support/blob-inspection';
import { checkResult, finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, type Backend, type TestRegistry } from './support/registry';
import { until } from './support/wait';
import type { ApiClient } from './support/api-client';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;

/** Signed registration, rejection reasons, and re-verification of stored versions. */
export function describeSigning(backend: Backend): void {
  describe(`signatures (${backend})`, () => {
    let registry: TestRegistry;
    let engineer: ApiClient;
    let counter = 0;
    const files = { 'model.onnx': randomBytes(50_000), 'config.json': Buffer.from('{"labels":2}') };
    const digests = Object.entries(files).map(([path, bytes]) => ({ path, sha256: sha256(bytes) }));

    beforeAll(async () => {
      registry = await startRegistry(backend);
      engineer = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: 'signer-eng', roles: ['ml_engineer'] })).body.token);
      await engineer.post('/v1/models', { name: 'signed' });
    });
    afterAll(() => registry?.close());

    async function trust(publicKey: KeyObject, extra: Record<string, unknown> = {}) {
      const response = await registry.admin.post('/v1/signers', { name: `key-${++counter}`, publicKey: pem(publicKey), ...extra });
      expect(response.status).toBe(201);
      return response.body;
    }

    /** Declares a version, uploads the files (and `extraFiles`) and commits with `signature`. */
    async function commitWith(signature: unknown, extraFiles: Record<string, Buffer> = {}) {
      const version = `1.0.${++counter}`;
      await engineer.post('/v1/models/signed/versions', { version, task: 'other' });
      for (const [path, bytes] of Object.entries({ ...files, ...extraFiles })) await engineer.put(`/v1/models/signed/versions/${version}/files/${path}`, bytes);
      return { version, response: await engineer.post(`/v1/models/signed/versions/${version}/commit`, { signature }) };
    }

    it.each([
      ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
      ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
      ['Ed25519', () => generateKeyPairSync('ed25519')],
      ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ])('commits a version signed with a trusted %s key', async (_name, generate) => {
      const { privateKey, publicKey } = generate();
      const signer = await trust(publicKey);
      const { version, response } = await commitWith(signStatement(buildStatement('signed', digests), privateKey));
      expect(response.status).toBe(200);
      expect(response.body.signature).toMatchObject({ signer: signer.name, fingerprint: signer.fingerprint });
      expect((await registry.admin.get(`/v1/models/signed/versions/${version}`)).body.signature.signer).toBe(signer.name);
    });

    it.each([
      ['unknown_signer', 'a key nobody trusts', async () => signStatement(buildStatement('signed', digests), generateKeyPairSync('ed25519').privateKey)],
      [
        'files_differ',
        'a manifest of other files',
        async () => {
          const { privateKey, publicKey } = generateKeyPairSync('ed25519');
          await trust(publicKey);
          return signStatement(buildStatement('signed', [...digests, { path: 'extra.bin', sha256: sha256(Buffer.from('x')) }]), privateKey);
        },
      ],
      [
        'bad_signature',
        'a payload changed after signing',
        async () => {
          const { privateKey, publicKey } = generateKeyPairSync('ed25519');
          await trust(publicKey);
          const bundle = signStatement(buildStatement('signed', digests), privateKey);
          const other = signStatement(buildStatement('other-model', digests), privateKey);
          return { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: other.dsseEnvelope.payload } };
        },
      ],
      [
        'signer_revoked',
        'a revoked signer',
        async () => {
          const { privateKey, publicKey } = generateKeyPairSync('ed25519');
          const signer = await trust(publicKey);
          expect((await registry.admin.post(`/v1/signers/${signer.id}/revoke`)).status).toBe(200);
          return signStatement(buildStatement('signed', digests), privateKey);
        },
      ],
      [
        'signer_expired',
        'an expired signer',
        async () => {
          const { privateKey, publicKey } = generateKeyPairSync('ed25519');
          await trust(publicKey, { expiresAt: new Date(Date.now() - 1000).toISOString() });
          return signStatement(buildStatement('signed', digests), privateKey);
        },
      ],
      ['malformed_signature', 'something that is not a bundle', async () => ({ mediaType: 'text/plain' })],
    ])('rejects %s (%s) with 422 and leaves the version uncommitted', async (reason, _what, makeSignature) => {
      const { version, response } = await commitWith(await makeSignature());
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ error: 'signature_rejected', details: { reason } });
      expect((await registry.admin.get(`/v1/models/signed/versions/${version}`)).body.status).toBe('pending_upload');
      const audited = await registry.admin.get(`/v1/audit?subject=version:signed@${version}&action=version.signature_rejected`);
      expect(audited.body.items[0].payload.reason).toBe(reason);
    });

    describe('bundles as model_signing writes them', () => {
      const readme = Buffer.from('# fraud model\n');

      it('accepts `sign key --ignore-paths README.md` when the version holds only the signed files: its ignore paths (the signature file, git metadata, README.md) match none of them', async () => {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const signer = await trust(publicKey);
        const bundle = modelSigningBundle({ modelDir: 'fraud-model', files: digests, ignorePaths: ['README.md'], privateKey });
        const { version, response } = await commitWith(bundle);
        expect(response.status).toBe(200);
        expect(response.body.signature).toMatchObject({ signer: signer.name });
        const verified = await registry.admin.post(`/v1/models/signed/versions/${version}/verify`);
        expect(verified.body).toMatchObject({ ok: true, signature: { present: true, ok: true } });
      });

      it('accepts `sign certificate` under a trusted CA, through its intermediate', async () => {
        const root = issueCertificate({ subject: 'model_signing Root', ca: true });
        const intermediate = issueCertificate({ subject: 'model_signing Intermediate', ca: true, issuer: root });
        const leaf = issueCertificate({ subject: 'release-bot', issuer: intermediate });
        await registry.admin.post('/v1/signers', { name: `ms-root-${++counter}`, certificate: root.pem });
        const bundle = modelSigningBundle({ modelDir: 'fraud-model', files: digests, privateKey: leaf.privateKey, certificateChain: [leaf.certificate, intermediate.certificate] });
        expect((await commitWith(bundle)).response.status).toBe(200);
      });

      it.each([
        [
          'a file the bundle ignores',
          { ignorePaths: ['README.md'] },
          [{ path: 'README.md', ignoredBy: 'README.md' }],
          'README.md (left out by the signature\'s ignore_paths entry "README.md")',
        ],
        ['a file absent from its manifest', {}, [{ path: 'README.md' }], 'in the version but not signed: README.md'],
      ])('refuses %s, naming it, and leaves the version uncommitted', async (_what, run, unsigned, named) => {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        await trust(publicKey);
        const { version, response } = await commitWith(modelSigningBundle({ modelDir: 'fraud-model', files: digests, privateKey, ...run }), { 'README.md': readme });
        expect(response.status).toBe(422);
        expect(response.body).toMatchObject({ error: 'signature_rejected', details: { reason: 'files_differ', unsigned, missing: [], changed: [] } });
        expect(response.body.message).toContain(named);
        expect((await registry.admin.get(`/v1/models/signed/versions/${version}`)).body.status).toBe('pending_upload');
      });
    });

    describe('signing a committed version afterwards', () => {
      const signAfterwards = (version: string, signature: unknown) => engineer.post(`/v1/models/signed/versions/${version}/signature`, { signature });
      const audited = async (version: string, action: string) => (await registry.admin.get(`/v1/audit?subject=version:signed@${version}&action=${action}`)).body.items;

      it('signs an unsigned version over exactly its sealed files, audits it, and refuses a second signature while the first holds', async () => {
        const { version, response } = await commitWith(undefined);
        expect(response.body.signature).toBeNull();
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const signer = await trust(publicKey);
        const signed = await signAfterwards(version, modelSigningBundle({ modelDir: 'fraud-model', files: digests, privateKey }));
        expect(signed.status).toBe(201);
        expect(signed.body).toMatchObject({ version, manifestDigest: response.body.manifestDigest, signature: { signer: signer.name, fingerprint: signer.fingerprint } });
        expect((await audited(version, 'version.signed'))[0]).toMatchObject({
          actor: 'signer-eng',
          payload: { manifestDigest: response.body.manifestDigest, signer: { name: signer.name, fingerprint: signer.fingerprint }, replaced: null },
        });
        expect((await registry.admin.post(`/v1/models/signed/versions/${version}/verify`)).body).toMatchObject({
          ok: true,
          signature: { present: true, ok: true, signer: signer.name },
        });

        const other = generateKeyPairSync('ed25519');
        await trust(other.publicKey);
        const again = await signAfterwards(version, signStatement(buildStatement('signed', digests), other.privateKey));
        expect(again.status).toBe(409);
        expect(again.body).toMatchObject({ error: 'already_signed', details: { signer: signer.name } });
        expect((await registry.admin.get(`/v1/models/signed/versions/${version}`)).body.signature.signer).toBe(signer.name);
      });

      it.each([
        [
          'files_differ',
          'a manifest without one of its files',
          { unsigned: [{ path: 'config.json' }] },
          (privateKey: KeyObject) => signStatement(buildStatement('signed', digests.slice(0, 1)), privateKey),
        ],
        [
          'files_differ',
          'a manifest with another digest',
          { changed: [expect.objectContaining({ path: 'config.json' })] },
          (privateKey: KeyObject) => signStatement(buildStatement('signed', [digests[0], { path: 'config.json', sha256: sha256(Buffer.from('{}')) }]), privateKey),
        ],
        ['unknown_signer', 'a key nobody trusts', {}, () => signStatement(buildStatement('signed', digests), generateKeyPairSync('ed25519').privateKey)],
      ])('refuses %s (%s) with 422 as at commit, audits it, and leaves the version unsigned', async (reason, _what, details, makeSignature) => {
        const { version } = await commitWith(undefined);
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        await trust(publicKey);
        const refused = await signAfterwards(version, makeSignature(privateKey));
        expect(refused.status).toBe(422);
        expect(refused.body).toMatchObject({ error: 'signature_rejected', details: { reason, ...details } });
        expect((await audited(version, 'version.signature_rejected'))[0].payload.reason).toBe(reason);
        expect((await registry.admin.get(`/v1/models/signed/versions/${version}`)).body.signature).toBeNull();
      });

      it('replaces a signature that no longer holds (its signer revoked), recording which it replaced', async () => {
        const first = generateKeyPairSync('ed25519');
        const revoked = await trust(first.publicKey);
        const { version } = await commitWith(signStatement(buildStatement('signed', digests), first.privateKey));
        await registry.admin.post(`/v1/signers/${revoked.id}/revoke`);
        const second = generateKeyPairSync('ec', { namedCurve: 'P-384' });
        const current = await trust(second.publicKey);
        const signed = await signAfterwards(version, modelSigningBundle({ modelDir: 'fraud-model', files: digests, privateKey: second.privateKey }));
        expect(signed.status).toBe(201);
        expect(signed.body.signature.signer).toBe(current.name);
        expect((await audited(version, 'version.signed'))[0].payload.replaced).toEqual({ signer: revoked.name, reason: 'signer_revoked' });
      });

      it('refuses a version still pending upload (409), a body without a signature (400), and a reader (403)', async () => {
        const version = `1.0.${++counter}`;
        await engineer.post('/v1/models/signed/versions', { version, task: 'other' });
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        await trust(publicKey);
        const pending = await signAfterwards(version, signStatement(buildStatement('signed', digests), privateKey));
        expect(pending.status).toBe(409);
        expect(pending.body.error).toBe('version_not_committed');
        expect((await engineer.post(`/v1/models/signed/versions/${version}/signature`, {})).status).toBe(400);
        const reader = registry.admin.withToken((await registry.admin.post('/v1/tokens', { name: `reader-${++counter}`, roles: ['reader'] })).body.token);
        expect((await reader.post(`/v1/models/signed/versions/${version}/signature`, { signature: {} })).status).toBe(403);
      });
    });

    describe('a version signed afterwards, at its next gate', () => {
      let gated: TestRegistry;
      beforeAll(async () => {
        gated = await startRegistry(backend, { GATE_WORKERS: '1', GATE_POLL_MS: '50' });
      });
      afterAll(() => gated?.close());

      /** Runs the production gate on the version and returns its signature_trusted result. */
      async function productionSignatureCheck() {
        const requested = await gated.admin.post('/v1/models/late-signed/versions/1.0.0/gate-runs', { stage: 'production' });
        expect(requested.status).toBe(202);
        const run = await until(async () => {
          const current = (await gated.admin.get(`/v1/gate-runs/${requested.body.id}`)).body;
          return ['passed', 'failed', 'error'].includes(current.status) ? current : undefined;
        }, 60_000);
        return checkResult(run, 'signature_trusted');
      }

      it('fails signature_trusted on the production gate while unsigned, and passes it once signed', async () => {
        const model = standardFixtures().classifier.model.bytes;
        expect((await registerVersion(gated.admin, { model: 'late-signed', version: '1.0.0', task: 'other', files: { 'model.onnx': model } })).status).toBe(200);
        await finishedGate(gated.admin, 'late-signed', '1.0.0');
        expect(await productionSignatureCheck()).toMatchObject({ status: 'failed', message: expect.stringContaining('not signed') });

        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const signer = (await gated.admin.post('/v1/signers', { name: 'late-signer', publicKey: pem(publicKey) })).body;
        const bundle = modelSigningBundle({ modelDir: 'late-signed', files: [{ path: 'model.onnx', sha256: sha256(Buffer.from(model)) }], privateKey });
        expect((await gated.admin.post('/v1/models/late-signed/versions/1.0.0/signature', { signature: bundle })).status).toBe(201);
        expect(await productionSignatureCheck()).toMatchObject({ status: 'passed', details: { signer: signer.name } });
      });
    });

    describe('with X.509 certificates', () => {
      const statement = () => buildStatement('signed', digests);

      it('accepts a certificate issued by a trusted CA root, through an intermediate', async () => {
        const root = issueCertificate({ subject: 'Gatehouse Test Root', ca: true });
        const intermediate = issueCertificate({ subject: 'Gatehouse Test Intermediate', ca: true, issuer: root });
        const leaf = issueCertificate({ subject: 'release-bot', issuer: intermediate });
        const added = await registry.admin.post('/v1/signers', { name: `root-${++counter}`, certificate: root.pem });
        expect(added.body).toMatchObject({ kind: 'ca', subject: 'CN=Gatehouse Test Root' });
        const { response } = await commitWith(signStatement(statement(), leaf.privateKey, [leaf.certificate, intermediate.certificate]));
        expect(response.status).toBe(200);
        expect(response.body.signature.signer).toBe(added.body.name);
      });

      it('accepts a directly trusted signing certificate', async () => {
        const self = issueCertificate({ subject: 'solo-signer' });
        const added = await registry.admin.post('/v1/signers', { name: `cert-${++counter}`, certificate: self.pem });
        expect(added.body.kind).toBe('certificate');
        const { response } = await commitWith(signStatement(statement(), self.privateKey, [self.certificate]));
        expect(response.status).toBe(200);
      });

      it.each([
        [
          'untrusted_chain',
          'a CA nobody trusts',
          async () => {
            const root = issueCertificate({ subject: 'Stranger Root', ca: true });
            const leaf = issueCertificate({ subject: 'stranger', issuer: root });
            return signStatement(statement(), leaf.privateKey, [leaf.certificate]);
          },
        ],
        [
          'key_usage',
          'a certificate not meant for signing',
          async () => {
            const root = issueCertificate({ subject: 'Usage Root', ca: true });
            await registry.admin.post('/v1/signers', { name: `usage-root-${++counter}`, certificate: root.pem });
            const leaf = issueCertificate({ subject: 'encryption-only', issuer: root, signingUsage: false });
            return signStatement(statement(), leaf.privateKey, [leaf.certificate]);
          },
        ],
        [
          'certificate_expired',
          'an intermediate that had expired when the signing certificate was issued',
          async () => {
            const root = issueCertificate({ subject: 'Old Root', ca: true, notBefore: new Date('2020-01-01'), notAfter: new Date('2040-01-01') });
            await registry.admin.post('/v1/signers', { name: `old-root-${++counter}`, certificate: root.pem });
            const intermediate = issueCertificate({ subject: 'Lapsed Intermediate', ca: true, issuer: root, notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
            const leaf = issueCertificate({ subject: 'late-signer', issuer: intermediate });
            return signStatement(statement(), leaf.privateKey, [leaf.certificate, intermediate.certificate]);
          },
        ],
        [
          'signer_revoked',
          'a revoked CA',
          async () => {
            const root = issueCertificate({ subject: 'Revoked Root', ca: true });
            const added = await registry.admin.post('/v1/signers', { name: `revoked-root-${++counter}`, certificate: root.pem });
            await registry.admin.post(`/v1/signers/${added.body.id}/revoke`);
            const leaf = issueCertificate({ subject: 'orphan', issuer: root });
            return signStatement(statement(), leaf.privateKey, [leaf.certificate, root.certificate]);
          },
        ],
      ])('rejects %s (%s)', async (reason, _what, makeSignature) => {
        const { response } = await commitWith(await makeSignature());
        expect(response.status).toBe(422);
        expect(response.body.details.reason).toBe(reason);
      });
    });

    it('re-verifies stored versions: tampered blobs and revoked signers are reported per part', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signer = await trust(publicKey);
      const { version } = await commitWith(signStatement(buildStatement('signed', digests), privateKey));
      const clean = await registry.admin.post(`/v1/models/signed/versions/${version}/verify`);
      expect(clean.status).toBe(200);
      expect(clean.body).toMatchObject({ ok: true, signature: { present: true, ok: true, signer: signer.name } });
      expect(clean.body.files.map((f: { status: string }) => f.status)).toEqual(['ok', 'ok']);

      const onnx = files['model.onnx'];
      const forged = Buffer.from(onnx);
      forged[0] ^= 1;
      await new BlobInspection(registry).overwrite(sha256(onnx), forged);
      await registry.admin.post(`/v1/signers/${signer.id}/revoke`);
      const report = await registry.admin.post(`/v1/models/signed/versions/${version}/verify`);
      expect(report.body.ok).toBe(false);
      expect(report.body.files).toEqual([
        expect.objectContaining({ path: 'config.json', status: 'ok' }),
        expect.objectContaining({ path: 'model.onnx', status: 'corrupt', actualSha256: sha256(forged) }),
      ]);
      expect(report.body.signature).toMatchObject({ present: true, ok: false, reason: 'signer_revoked' });
      // The blob is shared by every version that holds these bytes: put it back for the other tests.
      await new BlobInspection(registry).overwrite(sha256(onnx), onnx);
    });

    it('manages signers as admin only, refusing keys it cannot use', async () => {
      const notAdmin = await engineer.post('/v1/signers', { name: 'sneaky', publicKey: pem(generateKeyPairSync('ed25519').publicKey) });
      expect(notAdmin.status).toBe(403);
      const garbage = await registry.admin.post('/v1/signers', { name: 'garbage', publicKey: 'not a key' });
      expect(garbage.status).toBe(400);
      expect(garbage.body.error).toBe('invalid_signer_key');
      const weak = await registry.admin.post('/v1/signers', { name: 'secp256k1', publicKey: pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey) });
      expect(weak.status).toBe(400);
      const key = generateKeyPairSync('ed25519').publicKey;
      await trust(key);
      expect((await registry.admin.post('/v1/signers', { name: 'again', publicKey: pem(key) })).status).toBe(409);
      const listed = await registry.admin.get('/v1/signers');
      expect(listed.body.length).toBeGreaterThan(3);
    });
  });
}
