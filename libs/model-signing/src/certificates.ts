import { createHash, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { SignatureProblem } from './oms-bundle';

const KEY_USAGE_OID = '2.5.29.15';
const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';
const MAX_CHAIN_LENGTH = 8;
/** The [3] EXPLICIT tag around a TBSCertificate's extensions. */
const EXTENSIONS_TAG = 3;

/** How trusted signers identify a certificate: hex SHA-256 of its DER. */
export function certificateFingerprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('hex');
}

export function parseCertificate(pemOrDer: string | Buffer): X509Certificate {
  try {
    return new X509Certificate(pemOrDer);
  } catch (error) {
    throw new SignatureProblem('invalid_certificate', `not an X.509 certificate: ${(error as Error).message}`);
  }
}

/**
 * Whether the KeyUsage extension grants digitalSignature: undefined when the
 * extension is absent. Node's X509Certificate does not expose KeyUsage, so
 * the DER is read with node-forge's ASN.1 parser (its `pki` would refuse EC keys).
 */
export function grantsDigitalSignature(certificate: X509Certificate): boolean | undefined {
  const root = forge.asn1.fromDer(forge.util.createBuffer(certificate.raw.toString('binary')));
  const tbs = (root.value as forge.asn1.Asn1[])[0];
  const extensionsTag = (tbs.value as forge.asn1.Asn1[]).find((node) => node.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && (node.type as number) === EXTENSIONS_TAG);
  if (!extensionsTag) return undefined;
  for (const extension of (extensionsTag.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[]) {
    const parts = extension.value as forge.asn1.Asn1[];
    if (forge.asn1.derToOid(parts[0].value as string) !== KEY_USAGE_OID) continue;
    const octets = parts[parts.length - 1].value as string;
    const bits = forge.asn1.fromDer(forge.util.createBuffer(octets)).value as string;
    // BIT STRING content: one byte of unused-bit count, then the bits; digitalSignature is the first.
    return bits.length > 1 && (bits.charCodeAt(1) & 0x80) !== 0;
  }
  return undefined;
}

export interface TrustAnchor {
  certificate: X509Certificate;
  /** Only a CA anchor may issue other certificates. */
  isCa: boolean;
}

/**
 * Builds the path from the signing certificate, through the bundle's
 * intermediates, to a trusted certificate or CA root, checking every link's
 * signature and every certificate's validity at `signingTime`.
 */
export function verifyChain(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  findTrusted: (certificate: X509Certificate) => TrustAnchor | undefined,
  trustedCas: X509Certificate[],
  signingTime: Date,
): X509Certificate {
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    const trusted = findTrusted(current);
    // A trusted end-entity certificate anchors only itself; above the leaf, only CAs count.
    if (trusted && (current === leaf || trusted.isCa)) {
      checkValidity(path, signingTime);
      return trusted.certificate;
    }
    const issuer =
      intermediates.find((candidate) => candidate.ca && current.checkIssued(candidate) && current.verify(candidate.publicKey)) ??
      trustedCas.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (!issuer) throw new SignatureProblem('untrusted_chain', `no trusted signer or CA vouches for "${current.subject.replace(/\n/g, ', ')}"`);
    path.push(issuer);
    current = issuer;
  }
  throw new SignatureProblem('untrusted_chain', `the certificate chain is longer than ${MAX_CHAIN_LENGTH}`);
}

function checkValidity(path: X509Certificate[], at: Date): void {
  for (const certificate of path) {
    if (at < new Date(certificate.validFrom) || at > new Date(certificate.validTo)) {
      throw new SignatureProblem(
        'certificate_expired',
        `"${certificate.subject.replace(/\n/g, ', ')}" was not valid at signing time ${at.toISOString()} (valid ${certificate.validFrom} to ${certificate.validTo})`,
      );
    }
  }
}

/** The signing certificate must be meant for signing: KeyUsage digitalSignature or EKU codeSigning. */
export function checkSigningUsage(leaf: X509Certificate): void {
  if (grantsDigitalSignature(leaf) === true) return;
  if (leaf.keyUsage?.includes(CODE_SIGNING_EKU)) return;
  throw new SignatureProblem('key_usage', 'the signing certificate allows neither digitalSignature (KeyUsage) nor codeSigning (extended key usage)');
}
