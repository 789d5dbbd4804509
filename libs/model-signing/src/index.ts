/** The OpenSSF Model Signing format without Nest or the database: what the registry verifies and the CLI signs with. */
export { buildStatement, comparePathComponents, type FileDigest, type OmsBundle, type OmsStatement } from './oms-format';
export {
  signStatement,
  parseBundle,
  readStatement,
  verifyEnvelope,
  compareWithFiles,
  describeDifferences,
  parsePublicKey,
  SignatureProblem,
  type ManifestComparison,
  type UnsignedFile,
} from './oms-bundle';
export { publicKeyHint, UnsupportedKeyError, verifyBytes } from './signing-keys';
export { certificateFingerprint, checkSigningUsage, parseCertificate, verifyChain } from './certificates';
export { issueCertificate } from './certificate-issuer';
