import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SecurityVerdict } from '../catalog.types';
import { VersionSecurityRepository, type RescanCandidateRow } from '../repositories/version-security.repository';

/** Versions' artifact-scan verdicts, written by the gates in their own transactions. */
@Injectable()
export class VersionSecurityService {
  constructor(private readonly verdicts: VersionSecurityRepository) {}

  lockVerdict(tx: EntityManager, versionId: string): Promise<SecurityVerdict | null> {
    return this.verdicts.lockVerdict(tx, versionId);
  }

  record(tx: EntityManager, versionId: string, verdict: SecurityVerdict): Promise<void> {
    return this.verdicts.record(tx, versionId, verdict);
  }

  /** Every version that serves at a stage or is validated, with its verdict. */
  rescanCandidates(tx: EntityManager): Promise<RescanCandidateRow[]> {
    return this.verdicts.rescanCandidates(tx);
  }
}
