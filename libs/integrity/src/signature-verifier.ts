import { X509Certificate, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  certificateFingerprint,
  checkSigningUsage,
  compareWithFiles,
  describeDifferences,
  type FileDigest,
  type OmsBundle,
  parseBundle,
  parseCertificate,
  parsePublicKey,
  readStatement,
  SignatureProblem,
  verifyChain,
  verifyEnvelope,
} from '@gatehouse/model-signing';
import { SignatureRejectedError } from './errors';
import type { TrustedSignerEntity } from './trusted-signer.entity';
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
  constructor(private readonly signers: TrustedSignerRepository) {}

  async verify(raw: unknown, files: FileDigest[], tx?: EntityManager, now = new Date()): Promise<VerifiedSignature> {
    try {
      const bundle = parseBundle(raw);
      const { signer, key } = await this.identifySigner(bundle, tx, now);
      verifyEnvelope(bundle, key);
      const statement = readStatement(bundle);
      const comparison = compareWithFiles(statement, files);
      if (comparison.missing.length || comparison.unsigned.length || comparison.changed.length) {
        throw new SignatureProblem('files_differ', describeDifferences(comparison), { ...comparison });
      }
      return { signerId: signer.id, signerName: signer.name, fingerprint: signer.fingerprint, bundle };
    } catch (error) {
      if (error instanceof SignatureProblem) {
        throw new SignatureRejectedError(error.code, error.message, (error.details ?? {}) as Record<string, unknown>);
      }
      throw error;
    }
  }

  /** The trusted signer behind the bundle and the key its signature must verify with. */
  private async identifySigner(bundle: OmsBundle, tx: EntityManager | undefined, now: Date): Promise<{ signer: TrustedSignerEntity; key: KeyObject }> {
    const material = bundle.verificationMaterial;
    const chain = material.x509CertificateChain?.certificates ?? (material.certificate ? [material.certificate] : []);
    if (chain.length > 0)
      return this.identifyByCertificate(
        chain.map((c) => parseCertificate(Buffer.from(c.rawBytes ?? '', 'base64'))),
        tx,
        now,
      );
    const hint = material.publicKey?.hint;
    if (!hint) throw new SignatureProblem('unsupported_verification_material', 'the bundle names neither a public key hint nor a certificate');
    const signer = await this.signers.findByFingerprint(hint, tx);
    if (!signer || signer.kind !== 'public_key') throw new SignatureProblem('unknown_signer', `no trusted signer has key ${hint}`, { fingerprint: hint });
    assertUsable(signer, now);
    return { signer, key: parsePublicKey(signer.publicKeyPem) };
  }

  /**
   * Certificates: the path from the signing certificate, through the bundle's
   * intermediates, must reach a trusted certificate or CA root, valid at
   * signing time (the signing certificate's notBefore, as model_signing uses).
   */
  private async identifyByCertificate(chain: X509Certificate[], tx: EntityManager | undefined, now: Date): Promise<{ signer: TrustedSignerEntity; key: KeyObject }> {
    const [leaf, ...intermediates] = chain;
    const trusted = await this.signers.certificates(tx);
    const byFingerprint = new Map(trusted.map((signer) => [signer.fingerprint, signer]));
    for (const certificate of chain) {
      const known = byFingerprint.get(certificateFingerprint(certificate));
      if (known?.revokedAt) assertUsable(known, now);
    }
    const active = trusted.filter((signer) => !signer.revokedAt);
    const anchor = verifyChain(
      leaf,
      intermediates,
      (certificate) => {
        const signer = byFingerprint.get(certificateFingerprint(certificate));
        return signer && !signer.revokedAt ? { certificate, isCa: signer.kind === 'ca' } : undefined;
      },
      active.filter((signer) => signer.kind === 'ca').map((signer) => new X509Certificate(signer.certificatePem!)),
      new Date(leaf.validFrom),
    );
    const signer = byFingerprint.get(certificateFingerprint(anchor))!;
    assertUsable(signer, now);
    checkSigningUsage(leaf);
    return { signer, key: leaf.publicKey };
  }
}

/** Revoked or expired signers are refused, naming which. */
function assertUsable(signer: TrustedSignerEntity, now: Date): void {
  if (signer.revokedAt) throw new SignatureProblem('signer_revoked', `signer "${signer.name}" was revoked at ${signer.revokedAt.toISOString()}`);
  if (signer.expiresAt && signer.expiresAt <= now) {
    throw new SignatureProblem('signer_expired', `signer "${signer.name}" expired at ${signer.expiresAt.toISOString()}`);
  }
}
