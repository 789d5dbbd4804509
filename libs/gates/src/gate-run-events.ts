import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
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

/** Runs inside the transaction that records the outcome: what it writes commits with the outcome or not at all. */
export type GateFinishListener = (tx: EntityManager, run: FinishedGateRun) => Promise<void>;

/** Lets libs that wait on gates (promotions) act on a run's outcome atomically, without gates depending on them. */
@Injectable()
export class GateRunEvents {
  private readonly finishListeners: GateFinishListener[] = [];

  onFinished(listener: GateFinishListener): void {
    this.finishListeners.push(listener);
  }

  async finished(tx: EntityManager, run: FinishedGateRun): Promise<void> {
    for (const listener of this.finishListeners) await listener(tx, run);
  }
}
