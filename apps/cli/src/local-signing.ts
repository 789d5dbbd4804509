/**
 * Keys, certificates, signing and offline verification of files on disk. The
 * commands that sign or verify load this module when they run: node-forge,
 * which the certificates need, is too slow to load for every command.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import {
  buildStatement,
  certificateFingerprint,
  checkSigningUsage,
  compareWithFiles,
  issueCertificate,
  parseBundle,
  parsePublicKey,
  publicKeyHint,
  readStatement,
  SignatureProblem,
  signStatement,
  verifyChain,
  verifyEnvelope,
  type OmsBundle,
} from '@gatehouse/model-signing';
import { collectFiles, sha256OfFile, type LocalFile } from './local-files';
import { UsageError } from './references';

export interface KeyOptions {
  type: string;
  out: string;
  certificate?: 'self-signed' | 'issued';
  subject?: string;
  ca?: boolean;
  days: string;
  issuerKey?: string;
  issuerCert?: string;
}

export async function readPrivateKey(path: string): Promise<KeyObject> {
  try {
    return createPrivateKey(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read a PEM private key from ${path}: ${(error as Error).message}`);
  }
}

/** Every certificate in a PEM file, in order. */
export async function readCertificates(path: string): Promise<X509Certificate[]> {
  const blocks = (await readFile(path, 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`${path} holds no PEM certificate`);
  return blocks.map((block) => new X509Certificate(block));
}

/** The signature file's path relative to the model directory, if it lies inside it. */
export function insideDir(dir: string, file: string): string | undefined {
  const path = relative(resolve(dir), resolve(file));
  return path && !path.startsWith('..') && !path.startsWith(sep) ? path.split(sep).join('/') : undefined;
}

/** Writes PREFIX.pem (mode 0600), PREFIX.pub.pem and, when asked for, PREFIX.crt; returns the fingerprint to print. */
export async function writeKeyFiles(
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  options: KeyOptions,
  cwd: string,
): Promise<{ certificate: boolean; fingerprint: string }> {
  const prefix = resolve(cwd, options.out);
  const certificate = options.certificate ? await certify(keys.privateKey, options, prefix, cwd) : undefined;
  await writeFile(`${prefix}.pem`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await writeFile(`${prefix}.pub.pem`, keys.publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
  if (certificate) await writeFile(`${prefix}.crt`, certificate.toString(), { flag: 'wx' });
  return { certificate: !!certificate, fingerprint: certificate ? certificateFingerprint(certificate) : publicKeyHint(keys.publicKey) };
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

/** Hashes the files of a directory for signing; symlinks are refused, as the format forbids them. */
export async function digestsForSigning(dir: string, exclude: string[]): Promise<{ files: LocalFile[]; digests: { path: string; sha256: string }[] }> {
  const { files, skippedSymlinks } = await collectFiles(dir);
  if (skippedSymlinks.length > 0) throw new UsageError(`cannot sign symlinks: ${skippedSymlinks.join(', ')}`);
  const kept = files.filter((file) => !exclude.includes(file.path));
  const digests = [];
  for (const file of kept) digests.push({ path: file.path, sha256: await sha256OfFile(file.absolutePath) });
  return { files: kept, digests };
}

export interface SignerFiles {
  key: string;
  certificate?: string;
}

/** Signs `dir`'s files into a bundle at `output` (left out of the statement when it lies inside `dir`); returns how many files it signed. */
export async function signDirectory(dir: string, output: string, signer: SignerFiles & { modelName?: string }): Promise<number> {
  const inside = insideDir(dir, output);
  const { digests } = await digestsForSigning(dir, inside ? [inside] : []);
  const chain = signer.certificate ? await readCertificates(signer.certificate) : [];
  const bundle = signStatement(buildStatement(signer.modelName ?? basename(dir), digests, inside ? [inside] : []), await readPrivateKey(signer.key), chain);
  await writeFile(output, `${JSON.stringify(bundle, null, 2)}\n`);
  return digests.length;
}

/** The bundle for a registered version's manifest (its paths and digests, as the registry sealed them), signed here with the key files. */
export async function signRegisteredFiles(model: string, files: { path: string; sha256: string }[], signer: SignerFiles): Promise<OmsBundle> {
  const chain = signer.certificate ? await readCertificates(signer.certificate) : [];
  return signVersionFiles(
    model,
    files.map((file) => ({ path: file.path, sha256: file.sha256 })),
    await readPrivateKey(signer.key),
    chain,
  );
}

/** The bundle for a version's files, signed by `key` as `chain`'s leaf certificate when one is given. */
export function signVersionFiles(model: string, digests: { path: string; sha256: string }[], key: KeyObject, chain: X509Certificate[]): OmsBundle {
  return signStatement(buildStatement(model, digests), key, chain);
}

/** Verifies `dir` against the bundle at `bundlePath`, trusting a public key or a certificate; returns what failed, nothing when it verifies. */
export async function verifyOffline(dir: string, bundlePath: string, trust: { key?: string; cert?: string }): Promise<string[]> {
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
    const comparison = compareWithFiles(statement, digests);
    failures.push(
      ...comparison.changed.map((c) => `changed: ${c.path}`),
      ...comparison.missing.map((p) => `missing: ${p}`),
      ...comparison.unsigned.map((f) => `not signed: ${f.path}${f.ignoredBy === undefined ? '' : ` (left out by ignore_paths entry "${f.ignoredBy}")`}`),
    );
  } catch (error) {
    if (!(error instanceof SignatureProblem)) throw error;
    failures.push(`${error.code}: ${error.message}`);
  }
  return failures;
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
