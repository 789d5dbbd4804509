import { X509Certificate, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { TransactionRunner } from '@gatehouse/database';
import type { CreateSignerDto, SignerResponse } from './dto/signer.dto';
import { InvalidSignerKeyError, SignerNotFoundError } from './errors';
import { certificateFingerprint, parseCertificate, parsePublicKey, publicKeyHint, SignatureProblem, UnsupportedKeyError, verifyBytes } from '@gatehouse/model-signing';
import type { TrustedSignerEntity } from './trusted-signer.entity';
import { TrustedSignerRepository } from './trusted-signer.repository';

@Injectable()
export class SignerService {
  constructor(
    private readonly signers: TrustedSignerRepository,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
  ) {}

  async add(actor: Principal, request: CreateSignerDto): Promise<SignerResponse> {
    const identity = this.identity(request);
    const signer = await this.transactions.run(async (tx) => {
      const created = await this.signers.insert(tx, { name: request.name, ...identity, createdBy: actor.name });
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'signer.added',
        subject: `signer:${created.name}`,
        payload: { kind: created.kind, fingerprint: created.fingerprint, expiresAt: created.expiresAt },
      });
      return created;
    });
    return this.map(signer);
  }

  async list(): Promise<SignerResponse[]> {
    return (await this.signers.list()).map((signer) => this.map(signer));
  }

  async revoke(actor: Principal, id: string): Promise<SignerResponse> {
    return this.transactions.run(async (tx) => {
      const signer = await this.signers.findById(id, tx);
      if (!signer) throw new SignerNotFoundError(id);
      if (!signer.revokedAt) {
        await this.signers.revoke(tx, id);
        await this.audit.append(tx, { actor: actor.name, action: 'signer.revoked', subject: `signer:${signer.name}`, payload: { fingerprint: signer.fingerprint } });
      }
      return this.map((await this.signers.findById(id, tx))!);
    });
  }

  /** The kind, key, fingerprint and expiry of what the request trusts; only keys we can verify with are accepted. */
  private identity(request: CreateSignerDto): Pick<TrustedSignerEntity, 'kind' | 'publicKeyPem' | 'certificatePem' | 'fingerprint' | 'expiresAt'> {
    if (!!request.publicKey === !!request.certificate) throw new InvalidSignerKeyError('give exactly one of publicKey and certificate');
    try {
      if (request.publicKey) {
        const key = usableKey(parsePublicKey(request.publicKey));
        return {
          kind: 'public_key',
          publicKeyPem: key.export({ type: 'spki', format: 'pem' }) as string,
          certificatePem: null,
          fingerprint: publicKeyHint(key),
          expiresAt: request.expiresAt ?? null,
        };
      }
      const certificate = parseCertificate(request.certificate!);
      const notAfter = new Date(certificate.validTo);
      return {
        kind: certificate.ca ? 'ca' : 'certificate',
        publicKeyPem: usableKey(certificate.publicKey).export({ type: 'spki', format: 'pem' }) as string,
        certificatePem: certificate.toString(),
        fingerprint: certificateFingerprint(certificate),
        expiresAt: request.expiresAt && request.expiresAt < notAfter ? request.expiresAt : notAfter,
      };
    } catch (error) {
      if (error instanceof SignatureProblem || error instanceof UnsupportedKeyError) throw new InvalidSignerKeyError(error.message);
      throw error;
    }
  }

  private map(signer: TrustedSignerEntity): SignerResponse {
    return {
      id: signer.id,
      name: signer.name,
      kind: signer.kind,
      subject: signer.certificatePem ? new X509Certificate(signer.certificatePem).subject.replace(/\n/g, ', ') : null,
      fingerprint: signer.fingerprint,
      publicKey: signer.publicKeyPem,
      expiresAt: signer.expiresAt?.toISOString() ?? null,
      createdBy: signer.createdBy,
      createdAt: signer.createdAt.toISOString(),
      revokedAt: signer.revokedAt?.toISOString() ?? null,
    };
  }
}

/** Proves by a trial verification that signatures by this key can be checked. */
function usableKey(key: KeyObject): KeyObject {
  verifyBytes(key, Buffer.from('probe'), Buffer.alloc(64));
  return key;
}
