import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** A signature added to a version after its commit. */
@Injectable()
export class VersionSignatureRepository {
  /** Stores the version's one signature, taking the place of one it had. */
  async replace(tx: EntityManager, versionId: string, signerId: string, bundle: unknown): Promise<void> {
    await tx.query(
      `INSERT INTO version_signatures (version_id, signer_id, bundle) VALUES ($1, $2, $3)
       ON CONFLICT (version_id) DO UPDATE SET signer_id = EXCLUDED.signer_id, bundle = EXCLUDED.bundle, verified_at = now()`,
      [versionId, signerId, JSON.stringify(bundle)],
    );
  }
}
