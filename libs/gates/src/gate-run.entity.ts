import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintAsNumber, type EntityList } from '@gatehouse/database';
import type { GateStage, StagePolicy } from '@gatehouse/gate-engine';
import type { GateReport } from '@gatehouse/gate-engine';

export type GateRunStatus = 'queued' | 'running' | 'passed' | 'failed' | 'error';
export const GATE_RUN_TRIGGERS = ['commit', 'request', 'promotion', 'rescan'] as const;
export type GateRunTrigger = (typeof GATE_RUN_TRIGGERS)[number];

/** The last infrastructure or timeout failure of a run, kept for whoever looks at it next. */
export interface GateRunError {
  code: string;
  message: string;
  attempt: number;
  at: string;
}

/** Where a running run is: the check it is in, as its worker last recorded it. */
export interface GateRunProgress {
  check: string;
  /** Checks finished before this one. */
  checksDone: number;
  checksTotal: number;
  /** When the worker saw `check` start. */
  checkStartedAt: string;
}

@Entity('gate_runs')
export class GateRunEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', transformer: bigintAsNumber })
  seq: number;

  @Column('uuid', { name: 'version_id' })
  versionId: string;

  /** The production version when the run was queued, which the regression checks compare with; null when nothing served. */
  @Column('uuid', { name: 'baseline_version_id', nullable: true })
  baselineVersionId: string | null;

  @Column('text')
  stage: GateStage;

  @Column('text')
  trigger: GateRunTrigger;

  @Column('text', { name: 'requested_by' })
  requestedBy: string;

  @Column('jsonb')
  policy: StagePolicy;

  @Column('text')
  status: GateRunStatus;

  @Column('integer')
  attempts: number;

  @Column('integer', { name: 'max_attempts' })
  maxAttempts: number;

  @Column('timestamptz', { name: 'run_after' })
  runAfter: Date;

  @Column('text', { name: 'lease_owner', nullable: true })
  leaseOwner: string | null;

  @Column('timestamptz', { name: 'lease_expires_at', nullable: true })
  leaseExpiresAt: Date | null;

  @Column('double precision', { name: 'health_score', nullable: true })
  healthScore: number | null;

  @Column('jsonb', { nullable: true })
  report: GateReport | null;

  /** Null but while a worker runs it. */
  @Column('jsonb', { nullable: true })
  progress: GateRunProgress | null;

  @Column('jsonb', { name: 'last_error', nullable: true })
  lastError: GateRunError | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt: Date | null;
}

export const gateEntities: EntityList = [GateRunEntity];
