import { Injectable } from '@nestjs/common';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { TransactionRunner } from '@gatehouse/database';
import type { CreateSignerDto, SignerResponse } from './dto/signer.dto';
import { InvalidSignerKeyError, SignerNotFoundError } from './errors';
import { parsePublicKey, SignatureProblem } from './oms-bundle';
import { publicKeyHint, UnsupportedKeyError, verifyBytes } from './signing-keys';
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
    const key = this.checkedKey(request.publicKey);
    const pem = key.export({ type: 'spki', format: 'pem' }) as string;
    const signer = await this.transactions.run(async (tx) => {
      const created = await this.signers.insert(tx, {
        name: request.name,
        kind: 'public_key',
        publicKeyPem: pem,
        fingerprint: publicKeyHint(key),
        expiresAt: request.expiresAt ?? null,
        createdBy: actor.name,
      });
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'signer.added',
        subject: `signer:${created.name}`,
        payload: { fingerprint: created.fingerprint, keyType: key.asymmetricKeyType, expiresAt: created.expiresAt },
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

  /** Accepts only keys we can verify with, proven by a trial verification. */
  private checkedKey(pem: string) {
    try {
      const key = parsePublicKey(pem);
      verifyBytes(key, Buffer.from('probe'), Buffer.alloc(64));
      return key;
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
      fingerprint: signer.fingerprint,
      publicKey: signer.publicKeyPem,
      expiresAt: signer.expiresAt?.toISOString() ?? null,
      createdBy: signer.createdBy,
      createdAt: signer.createdAt.toISOString(),
      revokedAt: signer.revokedAt?.toISOString() ?? null,
    };
  }
}
