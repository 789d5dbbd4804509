import { createHash, createPublicKey, sign, verify, constants, type KeyObject } from 'node:crypto';

/** The key hint `model_signing` records: hex SHA-256 of the public key's SPKI PEM text. */
export function publicKeyHint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'utf8')
    .digest('hex');
}

const EC_HASH: Record<string, string> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };

/** The curve decides the hash for ECDSA; Ed25519 hashes internally; RSA uses SHA-256. */
function hashFor(key: KeyObject): string | null {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const hash = EC_HASH[curve];
      if (!hash) throw new UnsupportedKeyError(`EC curve ${curve} is not supported (P-256, P-384 or P-521)`);
      return hash;
    }
    case 'ed25519':
      return null;
    case 'rsa':
    case 'rsa-pss':
      return 'sha256';
    default:
      throw new UnsupportedKeyError(`${key.asymmetricKeyType} keys are not supported (EC, Ed25519 or RSA)`);
  }
}

export class UnsupportedKeyError extends Error {}

/** Signs `data`: ECDSA (DER), Ed25519, or RSA-PSS for RSA keys. */
export function signBytes(privateKey: KeyObject, data: Buffer): Buffer {
  const hash = hashFor(privateKey);
  if (privateKey.asymmetricKeyType === 'rsa' || privateKey.asymmetricKeyType === 'rsa-pss') {
    return sign(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  }
  return sign(hash, data, privateKey);
}

/** Verifies `signature` over `data`; RSA signatures may be PKCS#1 v1.5 or PSS. */
export function verifyBytes(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash = hashFor(publicKey);
  if (publicKey.asymmetricKeyType === 'rsa' || publicKey.asymmetricKeyType === 'rsa-pss') {
    return (
      (publicKey.asymmetricKeyType === 'rsa' && verify(hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature)) ||
      verify(hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature)
    );
  }
  return verify(hash, data, publicKey, signature);
}
