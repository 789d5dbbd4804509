import { Injectable } from '@nestjs/common';
import { TransactionalEvent } from '@gatehouse/database';
import type { GateReport, GateStage } from '@gatehouse/gate-engine';
import type { GateRunError } from './gate-run.entity';

export interface FinishedGateRun {
  runId: string;
  versionId: string;
  stage: GateStage;
  status: 'passed' | 'failed' | 'error';
  report: GateReport | null;
  error?: GateRunError;
  /** Who finished it, for the audit events listeners write. */
  actor: string;
}

/** Published in the transaction that records a run's outcome: promotions move on in it, without gates depending on them. */
@Injectable()
export class GateRunFinished extends TransactionalEvent<FinishedGateRun> {}
