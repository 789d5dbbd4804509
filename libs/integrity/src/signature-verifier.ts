import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { SignatureRejectedError } from './errors';
import { compareWithFiles, parseBundle, parsePublicKey, readStatement, SignatureProblem, verifyEnvelope } from './oms-bundle';
import type { FileDigest, OmsBundle } from './oms-format';
import { TrustedSignerRepository } from './trusted-signer.repository';

export interface VerifiedSignature {
  signerId: string;
  signerName: string;
  fingerprint: string;
  bundle: OmsBundle;
}

/** Decides whether an OMS bundle is a valid signature, by a trusted signer, over exactly these files. */
@Injectable()
export class SignatureVerifier {
  constructor(
    private readonly signers: TrustedSignerRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async verify(raw: unknown, files: FileDigest[], tx?: EntityManager, now = new Date()): Promise<VerifiedSignature> {
    try {
      const bundle = parseBundle(raw);
      const hint = bundle.verificationMaterial.publicKey?.hint;
      if (!hint) {
        throw new SignatureProblem('unsupported_verification_material', 'only bundles naming a trusted public key (verificationMaterial.publicKey.hint) are accepted');
      }
      const signer = await this.signers.findByFingerprint(hint, tx);
      if (!signer) throw new SignatureProblem('unknown_signer', `no trusted signer has key ${hint}`, { fingerprint: hint });
      if (signer.revokedAt) throw new SignatureProblem('signer_revoked', `signer "${signer.name}" was revoked at ${signer.revokedAt.toISOString()}`);
      if (signer.expiresAt && signer.expiresAt <= now) {
        throw new SignatureProblem('signer_expired', `signer "${signer.name}" expired at ${signer.expiresAt.toISOString()}`);
      }
      verifyEnvelope(bundle, parsePublicKey(signer.publicKeyPem));
      const statement = readStatement(bundle);
      const comparison = compareWithFiles(statement, files, this.config.signatureIgnorePaths);
      if (comparison.missing.length || comparison.extra.length || comparison.changed.length) {
        throw new SignatureProblem('files_differ', describe(comparison), { ...comparison });
      }
      return { signerId: signer.id, signerName: signer.name, fingerprint: signer.fingerprint, bundle };
    } catch (error) {
      if (error instanceof SignatureProblem) {
        throw new SignatureRejectedError(error.code, error.message, (error.details ?? {}) as Record<string, unknown>);
      }
      throw error;
    }
  }
}

function describe(comparison: { missing: string[]; extra: string[]; changed: { path: string }[] }): string {
  const parts = [
    comparison.changed.length ? `changed: ${comparison.changed.map((c) => c.path).join(', ')}` : '',
    comparison.missing.length ? `signed but not in the version: ${comparison.missing.join(', ')}` : '',
    comparison.extra.length ? `in the version but not signed: ${comparison.extra.join(', ')}` : '',
  ];
  return `the signed files differ from the version's (${parts.filter(Boolean).join('; ')})`;
}
