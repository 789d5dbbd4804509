export { IntegrityModule } from './integrity.module';
export { SignatureVerifier } from './signature-verifier';
export { SignatureRejectedError } from './errors';
export { integrityEntities } from './trusted-signer.entity';
