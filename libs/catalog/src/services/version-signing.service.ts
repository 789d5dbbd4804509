import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '@gatehouse/auth';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { SignatureRejectedError, SignatureVerifier } from '@gatehouse/integrity';
import type { FileDigest } from '@gatehouse/model-signing';
import { versionSubject } from '../audit-subject';
import type { VersionResponse } from '../dto/version-response.dto';
import { ModelNotFoundError, VersionAlreadySignedError, VersionNotCommittedError, VersionNotFoundError } from '../errors';
import { ModelRepository } from '../repositories/model.repository';
import { VersionSignatureRepository } from '../repositories/version-signature.repository';
import { VersionRepository, type SignatureRow } from '../repositories/version.repository';
import { VersionService } from './version.service';

/**
 * Signs a committed version afterwards. A version carries one signature:
 * only one that no longer holds (its signer revoked or expired since) may be
 * replaced, so a valid signer's attribution is never overwritten, and a
 * version whose signer lost trust can be vouched for again without
 * registering its files anew.
 */
@Injectable()
export class VersionSigningService {
  constructor(
    private readonly models: ModelRepository,
    private readonly versions: VersionRepository,
    private readonly signatures: VersionSignatureRepository,
    private readonly verifier: SignatureVerifier,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    private readonly versionService: VersionService,
  ) {}

  /** The bundle must cover exactly the sealed files (paths and digests), by a signer trusted now; a refusal is audited and changes nothing. */
  async sign(actor: Principal, modelName: string, versionName: string, signature: unknown): Promise<VersionResponse> {
    const ref = { model: modelName, version: versionName };
    const subject = versionSubject({ model: modelName, version: versionName });
    try {
      await this.transactions.run(async (tx) => {
        const model = await this.models.findByName(modelName, tx);
        if (!model) throw new ModelNotFoundError(modelName);
        const version = await this.versions.find(model.id, versionName, tx, true);
        if (!version) throw new VersionNotFoundError(ref);
        if (version.status === 'pending_upload') throw new VersionNotCommittedError(ref);
        const files = await this.versions.files(version.id, tx);
        const stored = await this.versions.signature(version.id, tx);
        const replaced = stored ? await this.whyNoLongerValid(stored, files, tx) : undefined;
        if (stored && !replaced) throw new VersionAlreadySignedError(ref, stored.signer);
        const verified = await this.verifier.verify(signature, files, tx);
        await this.signatures.replace(tx, version.id, verified.signerId, verified.bundle);
        await this.audit.append(tx, {
          actor: actor.name,
          action: 'version.signed',
          subject,
          payload: { manifestDigest: version.manifestDigest, signer: { name: verified.signerName, fingerprint: verified.fingerprint }, replaced: replaced ?? null },
        });
      });
    } catch (error) {
      // The refusal is audited on its own, since the transaction that found it rolled back.
      if (error instanceof SignatureRejectedError) {
        await this.transactions.run((tx) => this.audit.append(tx, { actor: actor.name, action: 'version.signature_rejected', subject, payload: { ...(error.details as object) } }));
      }
      throw error;
    }
    return this.versionService.get(modelName, versionName);
  }

  /** The stored signature's signer and why it no longer verifies, or undefined while it does. */
  private async whyNoLongerValid(stored: SignatureRow, files: FileDigest[], tx: EntityManager): Promise<{ signer: string; reason: string } | undefined> {
    try {
      await this.verifier.verify(stored.bundle, files, tx);
      return undefined;
    } catch (error) {
      if (!(error instanceof SignatureRejectedError)) throw error;
      return { signer: stored.signer, reason: (error.details as { reason: string }).reason };
    }
  }
}
