import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import {
  BUNDLE_MEDIA_TYPE,
  comparePathComponents,
  ignoreEntryCovers,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  OMS_PREDICATE_TYPE,
  pae,
  rootDigest,
  type OmsBundle,
  type OmsStatement,
} from './oms-format';
import { publicKeyHint, signBytes, verifyBytes } from './signing-keys';

/** Why a bundle is not acceptable, as a stable code and a sentence. */
export class SignatureProblem extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'SignatureProblem';
  }
}

/**
 * Signs a statement into a bundle `model_signing` can verify: named by the
 * key's hint, or, given a certificate chain (signing certificate first), by
 * that chain.
 */
export function signStatement(statement: OmsStatement, privateKey: KeyObject, certificateChain: X509Certificate[] = []): OmsBundle {
  // Indented by two, as model_signing's protobuf JSON writer lays the payload out.
  const payload = Buffer.from(JSON.stringify(statement, null, 2), 'utf8');
  const signature = signBytes(privateKey, pae(IN_TOTO_PAYLOAD_TYPE, payload));
  const identity =
    certificateChain.length > 0
      ? { x509CertificateChain: { certificates: certificateChain.map((certificate) => ({ rawBytes: certificate.raw.toString('base64') })) } }
      : { publicKey: { hint: publicKeyHint(privateKey) } };
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { ...identity, tlogEntries: [] },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  };
}

/** Checks the bundle's shape; nothing is trusted yet. */
export function parseBundle(raw: unknown): OmsBundle {
  const bundle = raw as OmsBundle;
  if (typeof raw !== 'object' || raw === null) throw new SignatureProblem('malformed_signature', 'the signature bundle must be a JSON object');
  if (bundle.mediaType !== BUNDLE_MEDIA_TYPE) {
    throw new SignatureProblem('malformed_signature', `bundle mediaType must be ${BUNDLE_MEDIA_TYPE}, got ${JSON.stringify(bundle.mediaType)}`);
  }
  const envelope = bundle.dsseEnvelope;
  if (!envelope || typeof envelope.payload !== 'string' || !Array.isArray(envelope.signatures) || envelope.signatures.length !== 1) {
    throw new SignatureProblem('malformed_signature', 'the bundle needs a DSSE envelope with a payload and exactly one signature');
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SignatureProblem('malformed_signature', `DSSE payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  if (typeof envelope.signatures[0].sig !== 'string') throw new SignatureProblem('malformed_signature', 'the DSSE signature is missing');
  if (!bundle.verificationMaterial || typeof bundle.verificationMaterial !== 'object') {
    throw new SignatureProblem('malformed_signature', 'the bundle has no verificationMaterial');
  }
  return bundle;
}

/** Verifies the envelope's signature with `publicKey`. */
export function verifyEnvelope(bundle: OmsBundle, publicKey: KeyObject): void {
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const signature = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
  if (!verifyBytes(publicKey, pae(bundle.dsseEnvelope.payloadType, payload), signature)) {
    throw new SignatureProblem('bad_signature', "the signature does not verify with the signer's key");
  }
}

/** The signed statement, checked for type and internal consistency (not yet against any files). */
export function readStatement(bundle: OmsBundle): OmsStatement {
  let statement: OmsStatement;
  try {
    statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as OmsStatement;
  } catch {
    throw new SignatureProblem('malformed_signature', 'the DSSE payload is not JSON');
  }
  if (statement._type !== IN_TOTO_STATEMENT_TYPE) throw new SignatureProblem('malformed_signature', `statement _type must be ${IN_TOTO_STATEMENT_TYPE}`);
  if (statement.predicateType !== OMS_PREDICATE_TYPE) throw new SignatureProblem('malformed_signature', `predicateType must be ${OMS_PREDICATE_TYPE}`);
  const serialization = statement.predicate?.serialization;
  if (serialization?.method !== 'files') {
    throw new SignatureProblem(
      'unsupported_serialization',
      `the signature serialises the model by ${JSON.stringify(serialization?.method)}; the registry verifies whole files: sign with model_signing's default "files" serialization`,
    );
  }
  const ignored = serialization.ignore_paths;
  if (ignored !== undefined && (!Array.isArray(ignored) || ignored.some((entry) => typeof entry !== 'string'))) {
    throw new SignatureProblem('malformed_signature', 'predicate.serialization.ignore_paths must be a list of paths');
  }
  const resources = statement.predicate.resources;
  if (!Array.isArray(resources) || resources.some((r) => r?.algorithm !== 'sha256' || !/^[0-9a-f]{64}$/.test(r?.digest ?? '') || typeof r?.name !== 'string')) {
    throw new SignatureProblem('malformed_signature', 'predicate.resources must list {name, algorithm: sha256, digest} entries (model_signing --hash-type sha256, its default)');
  }
  if (statement.subject?.length !== 1 || statement.subject[0]?.digest?.sha256 !== rootDigest(resources)) {
    throw new SignatureProblem('malformed_signature', 'the subject digest does not match the listed resources');
  }
  return statement;
}

/** A file of the version that the signature does not cover; `ignoredBy` is the ignore_paths entry that left it out, if one did. */
export interface UnsignedFile {
  path: string;
  ignoredBy?: string;
}

export interface ManifestComparison {
  /** Signed, but not a file of the version. */
  missing: string[];
  unsigned: UnsignedFile[];
  changed: { path: string; signed: string; actual: string }[];
}

/**
 * Compares the signed resources with the version's files. Every file must be
 * signed: ignore_paths excuses nothing, it only says why a file is unsigned,
 * and an entry that matches no file (the signature file, `.git`) is harmless.
 */
export function compareWithFiles(statement: OmsStatement, files: { path: string; sha256: string }[]): ManifestComparison {
  const ignored = statement.predicate.serialization.ignore_paths ?? [];
  const signed = new Map(statement.predicate.resources.map((r) => [r.name, r.digest]));
  const actual = new Map(files.map((f) => [f.path, f.sha256]));
  const sorted = (paths: string[]) => paths.sort(comparePathComponents);
  return {
    missing: sorted([...signed.keys()].filter((path) => !actual.has(path))),
    unsigned: sorted([...actual.keys()].filter((path) => !signed.has(path))).map((path) => {
      const ignoredBy = ignored.find((entry) => ignoreEntryCovers(entry, path));
      return ignoredBy === undefined ? { path } : { path, ignoredBy };
    }),
    changed: sorted([...signed.keys()].filter((path) => actual.has(path) && actual.get(path) !== signed.get(path))).map((path) => ({
      path,
      signed: signed.get(path)!,
      actual: actual.get(path)!,
    })),
  };
}

/** One sentence naming every difference, and what to do about unsigned files. */
export function describeDifferences(comparison: ManifestComparison): string {
  const unsigned = comparison.unsigned.map((file) =>
    file.ignoredBy === undefined ? file.path : `${file.path} (left out by the signature's ignore_paths entry "${file.ignoredBy}")`,
  );
  const parts = [
    comparison.changed.length ? `changed: ${comparison.changed.map((c) => c.path).join(', ')}` : '',
    comparison.missing.length ? `signed but not in the version: ${comparison.missing.join(', ')}` : '',
    unsigned.length ? `in the version but not signed: ${unsigned.join(', ')}` : '',
  ];
  const advice = unsigned.length ? '; every file of a version must be signed: sign it too, or leave it out of the version' : '';
  return `the signed files differ from the version's (${parts.filter(Boolean).join('; ')})${advice}`;
}

export function parsePublicKey(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new SignatureProblem('invalid_key', `not a PEM public key: ${(error as Error).message}`);
  }
}
