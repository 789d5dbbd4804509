/** The OpenSSF Model Signing format without Nest or the database: what the registry verifies and the CLI signs with. */
export { DEFAULT_SIGNATURE_IGNORE_PATHS, buildStatement, comparePathComponents, type FileDigest, type OmsBundle } from './oms-format';
export { signStatement, parseBundle, readStatement, verifyEnvelope, compareWithFiles, parsePublicKey, SignatureProblem } from './oms-bundle';
export { publicKeyHint, UnsupportedKeyError, verifyBytes } from './signing-keys';
export { certificateFingerprint, checkSigningUsage, parseCertificate, verifyChain } from './certificates';
export { issueCertificate } from './certificate-issuer';
