import { createPublicKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export interface CertificateRequest {
  /** The certified key: its public half goes into the certificate. */
  subjectKey: KeyObject;
  commonName: string;
  /** A CA may issue certificates; a signing certificate gets digitalSignature and codeSigning. */
  ca: boolean;
  validDays: number;
  /** Absent: self-signed with `subjectKey`. */
  issuer?: { privateKey: KeyObject; certificate: X509Certificate };
}

const ECDSA_OID: Record<string, { oid: string; hash: string }> = {
  prime256v1: { oid: '1.2.840.10045.4.3.2', hash: 'sha256' },
  secp384r1: { oid: '1.2.840.10045.4.3.3', hash: 'sha384' },
  secp521r1: { oid: '1.2.840.10045.4.3.4', hash: 'sha512' },
};
const ED25519_OID = '1.3.101.112';
const SHA256_WITH_RSA_OID = '1.2.840.113549.1.1.11';

/**
 * Issues an X.509 v3 certificate for any key type we sign with. node-forge
 * lays out the TBSCertificate (names, validity, extensions) but only knows RSA
 * keys, so the real SubjectPublicKeyInfo and signature algorithm are put into
 * its ASN.1 and the TBS is signed with Node's crypto.
 */
export function issueCertificate(request: CertificateRequest): X509Certificate {
  const signer = request.issuer?.privateKey ?? request.subjectKey;
  const algorithm = signatureAlgorithm(signer);
  const draft = forge.pki.createCertificate();
  // Only to let forge encode the TBS; replaced below by the real key.
  draft.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'));
  draft.serialNumber = positiveSerial();
  draft.validity.notBefore = new Date(Date.now() - 60_000);
  draft.validity.notAfter = new Date(Date.now() + request.validDays * 86_400_000);
  draft.setSubject([{ name: 'commonName', value: request.commonName }]);
  draft.setIssuer([{ name: 'commonName', value: request.commonName }]);
  draft.setExtensions(
    request.ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ]
      : [
          { name: 'basicConstraints', cA: false, critical: true },
          { name: 'keyUsage', digitalSignature: true, critical: true },
          { name: 'extKeyUsage', codeSigning: true },
        ],
  );
  (draft as unknown as { siginfo: { algorithmOid: string } }).siginfo.algorithmOid = algorithm.oid;

  const tbs = (forge.pki as unknown as { getTBSCertificate(certificate: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(draft);
  const fields = tbs.value as forge.asn1.Asn1[];
  // version, serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo, extensions
  fields[2] = algorithmIdentifier(algorithm.oid);
  if (request.issuer) fields[3] = subjectNameOf(request.issuer.certificate);
  const subjectPublicKey = request.subjectKey.type === 'private' ? createPublicKey(request.subjectKey) : request.subjectKey;
  fields[6] = fromDer(subjectPublicKey.export({ type: 'spki', format: 'der' }));

  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign(algorithm.hash, tbsDer, signer);
  const certificate = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(algorithm.oid),
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature.toString('binary')),
  ]);
  return new X509Certificate(Buffer.from(forge.asn1.toDer(certificate).getBytes(), 'binary'));
}

function signatureAlgorithm(key: KeyObject): { oid: string; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const entry = ECDSA_OID[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!entry) throw new Error(`cannot issue certificates with curve ${key.asymmetricKeyDetails?.namedCurve}`);
      return entry;
    }
    case 'ed25519':
      return { oid: ED25519_OID, hash: null };
    case 'rsa':
      return { oid: SHA256_WITH_RSA_OID, hash: 'sha256' };
    default:
      throw new Error(`cannot issue certificates with ${key.asymmetricKeyType} keys`);
  }
}

/** ECDSA and Ed25519 identifiers carry no parameters; RSA's carry NULL. */
function algorithmIdentifier(oid: string): forge.asn1.Asn1 {
  const parts = [forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OID, false, forge.asn1.oidToDer(oid).getBytes())];
  if (oid === SHA256_WITH_RSA_OID) parts.push(forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, ''));
  return forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, parts);
}

function subjectNameOf(certificate: X509Certificate): forge.asn1.Asn1 {
  const tbs = (fromDer(certificate.raw).value as forge.asn1.Asn1[])[0];
  return (tbs.value as forge.asn1.Asn1[])[5];
}

function fromDer(der: Buffer): forge.asn1.Asn1 {
  return forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
}

/** 16 random bytes, top bit clear so the INTEGER stays positive. */
function positiveSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return bytes.toString('hex');
}
