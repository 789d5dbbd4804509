export { IntegrityModule } from './integrity.module';
export { SignatureVerifier, type VerifiedSignature } from './signature-verifier';
export { SignatureRejectedError } from './errors';
export { TrustedSignerEntity } from './trusted-signer.entity';
