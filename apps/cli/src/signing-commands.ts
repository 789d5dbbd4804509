import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_SIGNATURE_IGNORE_PATHS } from '@gatehouse/model-signing';
import {
  buildStatement,
  certificateFingerprint,
  checkSigningUsage,
  compareWithFiles,
  issueCertificate,
  verifyChain,
  parseBundle,
  parsePublicKey,
  publicKeyHint,
  readStatement,
  SignatureProblem,
  signStatement,
  verifyEnvelope,
  type OmsBundle,
} from '@gatehouse/model-signing';
import { apiPath } from './gatehouse-client';
import { collectFiles, sha256OfFile, type LocalFile } from './local-files';
import { formatTable } from './output';
import type { ClientFactory, Printer } from './cli';
import { UsageError } from './references';


/** A verification that ran and failed: the finding is printed, the exit code is 1. */
export class VerificationFailed extends Error {}

const KEY_TYPES: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  'ec-p256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ec-p384': () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'ec-p521': () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  ed25519: () => generateKeyPairSync('ed25519'),
  rsa: () => generateKeyPairSync('rsa', { modulusLength: 3072 }),
};

export async function readPrivateKey(path: string): Promise<KeyObject> {
  try {
    return createPrivateKey(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read a PEM private key from ${path}: ${(error as Error).message}`);
  }
}

/** Hashes the files of a directory for signing; symlinks are refused, as the format forbids them. */
export async function digestsForSigning(dir: string, exclude: string[]): Promise<{ files: LocalFile[]; digests: { path: string; sha256: string }[] }> {
  const { files, skippedSymlinks } = await collectFiles(dir);
  if (skippedSymlinks.length > 0) throw new UsageError(`cannot sign symlinks: ${skippedSymlinks.join(', ')}`);
  const kept = files.filter((file) => !exclude.includes(file.path));
  const digests = [];
  for (const file of kept) digests.push({ path: file.path, sha256: await sha256OfFile(file.absolutePath) });
  return { files: kept, digests };
}

/** The signature file's path relative to the model directory, if it lies inside it. */
export function insideDir(dir: string, file: string): string | undefined {
  const path = relative(resolve(dir), resolve(file));
  return path && !path.startsWith('..') && !path.startsWith(sep) ? path.split(sep).join('/') : undefined;
}

/** keys, sign, verify and signers; relative paths resolve against `cwd`. */
export function addSigningCommands(program: Command, client: ClientFactory, print: Printer, cwd: string): void {
  program
    .command('keys')
    .description('signing keys')
    .command('generate')
    .description('write a key pair: PREFIX.pem (private, mode 0600) and PREFIX.pub.pem')
    .addOption(new Option('--type <type>').choices(Object.keys(KEY_TYPES)).default('ec-p256'))
    .requiredOption('--out <prefix>', 'path prefix of the files')
    .addOption(new Option('--certificate <how>', 'also write PREFIX.crt').choices(['self-signed', 'issued']))
    .option('--subject <common-name>', 'the certificate subject CN (default: the prefix name)')
    .option('--ca', 'a CA certificate, to issue signing certificates with')
    .option('--days <n>', 'certificate validity in days', '365')
    .option('--issuer-key <private.pem>', 'with --certificate issued: the CA key')
    .option('--issuer-cert <ca.crt>', 'with --certificate issued: the CA certificate')
    .action(async (options: KeyOptions) => {
      const { privateKey, publicKey } = KEY_TYPES[options.type]();
      const prefix = resolve(cwd, options.out);
      const certificate = options.certificate ? await certify(privateKey, options, prefix, cwd) : undefined;
      await writeFile(`${prefix}.pem`, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      await writeFile(`${prefix}.pub.pem`, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
      if (certificate) await writeFile(`${prefix}.crt`, certificate.toString(), { flag: 'wx' });
      const fingerprint = certificate ? certificateFingerprint(certificate) : publicKeyHint(publicKey);
      print({ privateKey: `${options.out}.pem`, publicKey: `${options.out}.pub.pem`, certificate: certificate ? `${options.out}.crt` : null, fingerprint }, () =>
        `wrote ${options.out}.pem, ${options.out}.pub.pem${certificate ? ` and ${options.out}.crt` : ''} (${options.type}); fingerprint ${fingerprint}\n`,
      );
    });

  program
    .command('sign')
    .description('sign a model directory offline, writing an OpenSSF Model Signing bundle')
    .argument('<dir>')
    .requiredOption('--key <private.pem>')
    .option('--output <file>', 'where to write the bundle (default: DIR/model.sig)')
    .option('--model-name <name>', 'the statement subject (default: the directory name)')
    .option('--certificate <chain.pem>', 'sign as this certificate (then any intermediates), not as a bare key')
    .action(async (target: string, options: { key: string; output?: string; modelName?: string; certificate?: string }) => {
      const dir = resolve(cwd, target);
      const output = resolve(cwd, options.output ?? join(target, 'model.sig'));
      const inside = insideDir(dir, output);
      const { digests } = await digestsForSigning(dir, inside ? [inside] : []);
      const chain = options.certificate ? await readCertificates(resolve(cwd, options.certificate)) : [];
      const bundle = signStatement(buildStatement(options.modelName ?? basename(dir), digests, inside ? [inside] : []), await readPrivateKey(resolve(cwd, options.key)), chain);
      await writeFile(output, `${JSON.stringify(bundle, null, 2)}\n`);
      print({ bundle: output, files: digests.length }, () => `signed ${digests.length} files; bundle written to ${output}\n`);
    });

  program
    .command('verify')
    .description('verify a registered version on the server, or a directory on disk with --offline')
    .argument('[model@version]')
    .option('--offline <dir>', 'verify this directory locally instead')
    .option('--bundle <file>', 'with --offline: the signature bundle (default: DIR/model.sig)')
    .option('--key <public.pem>', 'with --offline: the signer\'s public key')
    .option('--cert <trusted.crt>', 'with --offline: the certificate or CA root to trust, for certificate-signed bundles')
    .action(async (ref: string | undefined, options: { offline?: string; bundle?: string; key?: string; cert?: string }) => {
      if (options.offline) {
        const dir = resolve(cwd, options.offline);
        const trust = options.key ? { key: resolve(cwd, options.key) } : options.cert ? { cert: resolve(cwd, options.cert) } : undefined;
        if (!trust) throw new UsageError('--offline needs --key PUBLIC.pem or --cert TRUSTED.crt');
        await verifyOffline(dir, resolve(cwd, options.bundle ?? join(options.offline, 'model.sig')), trust, print);
        return;
      }
      if (!ref || !/^[^@]+@[^@]+$/.test(ref)) throw new UsageError('verify needs MODEL@VERSION, or --offline DIR --key KEY');
      const [model, version] = ref.split('@');
      const report = await (await client()).post<VerificationReport>(`/v1/models/${apiPath(model, 'versions', version)}/verify`);
      print(report, () => {
        const signature = !report.signature.present
          ? 'signature: none'
          : report.signature.ok
            ? `signature: valid, by ${report.signature.signer}`
            : `signature: INVALID (${report.signature.reason}): ${report.signature.message}`;
        const table = formatTable(['PATH', 'STATUS', 'SHA-256'], report.files.map((f) => [f.path, f.status, f.actualSha256 ?? f.sha256]));
        return `${table}${signature}\n${report.ok ? 'verified' : 'VERIFICATION FAILED'}\n`;
      });
      if (!report.ok) throw new VerificationFailed();
    });

  const signers = program.command('signers').description('trusted signers (admin)');
  signers
    .command('add')
    .argument('<name>')
    .option('--key <public.pem>', 'trust a public key')
    .option('--cert <certificate.pem>', 'trust a certificate, or a CA root and what it issues')
    .option('--expires <iso-time>')
    .action(async (name: string, options: { key?: string; cert?: string; expires?: string }) => {
      if (!options.key === !options.cert) throw new UsageError('signers add needs exactly one of --key and --cert');
      const material = options.key
        ? { publicKey: await readFile(resolve(cwd, options.key), 'utf8') }
        : { certificate: await readFile(resolve(cwd, options.cert!), 'utf8') };
      const signer = await (await client()).post<Signer>('/v1/signers', { name, ...material, expiresAt: options.expires });
      print(signer, () => `trusted ${signer.name} (${signer.fingerprint})\n`);
    });
  signers.command('list').action(async () => {
    const list = await (await client()).get<Signer[]>('/v1/signers');
    print(list, () => formatTable(['ID', 'NAME', 'FINGERPRINT', 'EXPIRES', 'REVOKED'], list.map((s) => [s.id, s.name, s.fingerprint, s.expiresAt, s.revokedAt])));
  });
  signers
    .command('revoke')
    .argument('<id>')
    .action(async (id: string) => {
      const signer = await (await client()).post<Signer>(`/v1/signers/${apiPath(id)}/revoke`);
      print(signer, () => `revoked ${signer.name}\n`);
    });
}

interface KeyOptions {
  type: string;
  out: string;
  certificate?: 'self-signed' | 'issued';
  subject?: string;
  ca?: boolean;
  days: string;
  issuerKey?: string;
  issuerCert?: string;
}

async function certify(privateKey: KeyObject, options: KeyOptions, prefix: string, cwd: string): Promise<X509Certificate> {
  const validDays = Number(options.days);
  if (!Number.isInteger(validDays) || validDays < 1) throw new UsageError('--days must be a positive whole number');
  const request = { subjectKey: privateKey, commonName: options.subject ?? basename(prefix), ca: !!options.ca, validDays };
  if (options.certificate === 'self-signed') return issueCertificate(request);
  if (!options.issuerKey || !options.issuerCert) throw new UsageError('--certificate issued needs --issuer-key and --issuer-cert');
  const [issuerCertificate] = await readCertificates(resolve(cwd, options.issuerCert));
  return issueCertificate({ ...request, issuer: { privateKey: await readPrivateKey(resolve(cwd, options.issuerKey)), certificate: issuerCertificate } });
}

/** Every certificate in a PEM file, in order. */
export async function readCertificates(path: string): Promise<X509Certificate[]> {
  const blocks = (await readFile(path, 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`${path} holds no PEM certificate`);
  return blocks.map((block) => new X509Certificate(block));
}

async function keyFor(bundle: OmsBundle, keyPath: string): Promise<KeyObject> {
  const key = parsePublicKey(await readFile(keyPath, 'utf8'));
  const hint = bundle.verificationMaterial.publicKey?.hint;
  if (hint && hint !== publicKeyHint(key)) throw new SignatureProblem('key_mismatch', 'the bundle names a different key than --key');
  return key;
}

/** The signing certificate's key, once its chain reaches the trusted certificate. */
async function certifiedKey(bundle: OmsBundle, certPath: string): Promise<KeyObject> {
  const [trusted] = await readCertificates(certPath);
  const chain = (bundle.verificationMaterial.x509CertificateChain?.certificates ?? []).map((c) => new X509Certificate(Buffer.from(c.rawBytes, 'base64')));
  if (chain.length === 0) throw new SignatureProblem('unsupported_verification_material', 'the bundle carries no certificate chain');
  const [leaf, ...intermediates] = chain;
  const anchor = certificateFingerprint(trusted);
  verifyChain(
    leaf,
    intermediates,
    (certificate) => (certificateFingerprint(certificate) === anchor ? { certificate, isCa: trusted.ca } : undefined),
    trusted.ca ? [trusted] : [],
    new Date(leaf.validFrom),
  );
  checkSigningUsage(leaf);
  return leaf.publicKey;
}

interface Signer {
  id: string;
  name: string;
  fingerprint: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

interface VerificationReport {
  ok: boolean;
  files: { path: string; sha256: string; status: string; actualSha256?: string }[];
  signature: { present: boolean; ok: boolean; signer?: string; reason?: string; message?: string };
}

async function verifyOffline(dir: string, bundlePath: string, trust: { key?: string; cert?: string }, print: Printer): Promise<void> {
  let bundle: OmsBundle;
  try {
    bundle = parseBundle(JSON.parse(await readFile(bundlePath, 'utf8')));
  } catch (error) {
    if (error instanceof SignatureProblem) throw error;
    throw new UsageError(`cannot read a bundle from ${bundlePath}: ${(error as Error).message}`);
  }
  const inside = insideDir(dir, bundlePath);
  const failures: string[] = [];
  try {
    verifyEnvelope(bundle, trust.key ? await keyFor(bundle, trust.key) : await certifiedKey(bundle, trust.cert!));
    const statement = readStatement(bundle);
    const { digests } = await digestsForSigning(dir, inside ? [inside] : []);
    const comparison = compareWithFiles(statement, digests, [...DEFAULT_SIGNATURE_IGNORE_PATHS, ...(inside ? [inside] : [])]);
    failures.push(
      ...comparison.changed.map((c) => `changed: ${c.path}`),
      ...comparison.missing.map((p) => `missing: ${p}`),
      ...comparison.extra.map((p) => `not signed: ${p}`),
    );
  } catch (error) {
    if (!(error instanceof SignatureProblem)) throw error;
    failures.push(`${error.code}: ${error.message}`);
  }
  print({ ok: failures.length === 0, failures }, () => (failures.length === 0 ? `verified ${dir} against ${bundlePath}\n` : `VERIFICATION FAILED\n${failures.map((f) => `  ${f}`).join('\n')}\n`));
  if (failures.length > 0) throw new VerificationFailed();
}
