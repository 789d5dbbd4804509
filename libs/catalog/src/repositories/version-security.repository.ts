import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Task } from '@gatehouse/gate-engine';
import type { ScanAllowances, SecurityVerdict, VersionStage, VersionStatus } from '../catalog.types';

/** A version the re-scan considers: it serves at a stage or is validated. */
export interface RescanCandidateRow {
  id: string;
  model: string;
  version: string;
  status: VersionStatus;
  stage: VersionStage;
  task: Task;
  security: SecurityVerdict | null;
  /** What its model's scan allows beyond the gate policy: part of the policy its verdict is compared with. */
  scanAllowances: ScanAllowances | null;
}

@Injectable()
export class VersionSecurityRepository {
  /** The version's verdict, its row locked until the transaction ends: verdicts on one version are decided one at a time. */
  async lockVerdict(tx: EntityManager, versionId: string): Promise<SecurityVerdict | null> {
    const [row] = await tx.query<{ security: SecurityVerdict | null }[]>('SELECT security FROM model_versions WHERE id = $1 FOR UPDATE', [versionId]);
    return row?.security ?? null;
  }

  async record(tx: EntityManager, versionId: string, verdict: SecurityVerdict): Promise<void> {
    await tx.query('UPDATE model_versions SET security = $2 WHERE id = $1', [versionId, JSON.stringify(verdict)]);
  }

  rescanCandidates(tx: EntityManager): Promise<RescanCandidateRow[]> {
    return tx.query(
      `SELECT v.id, m.name AS model, v.version, v.status, v.stage, v.task, v.security, m.scan_allowances AS "scanAllowances"
         FROM model_versions v JOIN models m ON m.id = v.model_id
        WHERE v.status = 'validated' OR v.stage IN ('staging','canary','production')
        ORDER BY m.name, v.seq`,
    );
  }
}
