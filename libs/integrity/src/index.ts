export { IntegrityModule } from './integrity.module';
export { SignatureVerifier, type VerifiedSignature } from './signature-verifier';
export { SignatureRejectedError } from './errors';
export { TrustedSignerEntity } from './trusted-signer.entity';
export { buildStatement, comparePathComponents, type FileDigest, type OmsBundle, type OmsStatement } from './oms-format';
export { signStatement, parseBundle, readStatement, verifyEnvelope, compareWithFiles, parsePublicKey, SignatureProblem } from './oms-bundle';
export { publicKeyHint } from './signing-keys';
export { certificateFingerprint, checkSigningUsage, parseCertificate, verifyChain } from './certificates';
export { issueCertificate, type CertificateRequest } from './certificate-issuer';
