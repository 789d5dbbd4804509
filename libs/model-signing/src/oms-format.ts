import { createHash } from 'node:crypto';

/**
 * The OpenSSF Model Signing (OMS) format, as `model_signing` of
 * sigstore/model-transparency writes it: a Sigstore bundle whose DSSE envelope
 * carries an in-toto Statement listing every file's SHA-256.
 */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const OMS_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';

export interface FileDigest {
  path: string;
  sha256: string;
}

export interface OmsResource {
  name: string;
  algorithm: string;
  digest: string;
}

export interface OmsStatement {
  _type: string;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: {
    /** model_signing omits ignore_paths when nothing was ignored; its entries are relative to the model directory. */
    serialization: { method: string; hash_type: string; allow_symlinks: boolean; ignore_paths?: string[] };
    resources: OmsResource[];
  };
}

export interface OmsBundle {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint?: string | null };
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    certificate?: { rawBytes: string };
    tlogEntries?: unknown[];
  };
  dsseEnvelope: {
    payload: string;
    payloadType: string;
    signatures: { sig: string; keyid?: string }[];
  };
}

/** Orders paths component by component, as the format requires. */
export function comparePathComponents(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return left.length - right.length;
}

/** SHA-256 over the raw (not hex) resource digests, concatenated in order: the statement's one subject digest. */
export function rootDigest(resources: { digest: string }[]): string {
  const hash = createHash('sha256');
  for (const resource of resources) hash.update(Buffer.from(resource.digest, 'hex'));
  return hash.digest('hex');
}

/** The statement a signer signs for `files` of the model named `modelName`; `ignorePaths` is left out when empty, as model_signing does. */
export function buildStatement(modelName: string, files: FileDigest[], ignorePaths: string[] = []): OmsStatement {
  const resources = [...files].sort((a, b) => comparePathComponents(a.path, b.path)).map((file) => ({ name: file.path, algorithm: 'sha256', digest: file.sha256 }));
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: modelName, digest: { sha256: rootDigest(resources) } }],
    predicateType: OMS_PREDICATE_TYPE,
    predicate: {
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ...(ignorePaths.length > 0 ? { ignore_paths: ignorePaths } : {}) },
      resources,
    },
  };
}

/** Whether an ignore_paths entry covers `path`: the entry itself or anything under it, component by component, as model_signing's `is_relative_to`. */
export function ignoreEntryCovers(entry: string, path: string): boolean {
  const normal = entry.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return normal === '' || normal === '.' || path === normal || path.startsWith(`${normal}/`);
}

/** DSSE pre-authentication encoding: what the signature actually covers. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}
