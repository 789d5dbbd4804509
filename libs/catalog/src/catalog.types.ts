import type { Task } from '@gatehouse/gate-engine';

export const VERSION_STATUSES = ['pending_upload', 'registered', 'validating', 'validated', 'rejected'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const VERSION_STAGES = ['none', 'staging', 'canary', 'production', 'archived', 'rolled_back'] as const;
export type VersionStage = (typeof VERSION_STAGES)[number];

/** The stages a version serves from; one version per model holds each. */
export const SERVING_STAGES = ['staging', 'canary', 'production'] as const;
export type ServingStage = (typeof SERVING_STAGES)[number];

/** What happened to a version at a stage: promoted into it, replaced by the next one, rolled back, restored by a rollback, or a canary aborted. */
export const STAGE_ACTIONS = ['promoted', 'replaced', 'rolled_back', 'restored', 'canary_aborted'] as const;
export type StageAction = (typeof STAGE_ACTIONS)[number];

export interface SourceInfo {
  repository?: string;
  commit?: string;
  runId?: string;
}

/** The outcome of the latest gate run on a version, kept on the version for quick reads. */
export interface LatestGate {
  runId: string;
  stage: string;
  status: string;
  healthScore: number | null;
  finishedAt: string | null;
}

export const SECURITY_STATUSES = ['clean', 'flagged'] as const;
export type SecurityStatus = (typeof SECURITY_STATUSES)[number];

/**
 * A version's latest artifact-scan verdict and what it was reached under.
 * Flagged blocks further promotion; it never moves a stage pointer.
 */
export interface SecurityVerdict {
  status: SecurityStatus;
  scannerVersion: string;
  /** SHA-256 of what decided the scan's verdict in the policy: the check's severity and thresholds. */
  policyDigest: string;
  /** The gate run that reached it. */
  gateRunId: string;
  at: string;
  /** What the scan found, when flagged. */
  message?: string;
}

/** A version as feature libs act on it: its ids and where it stands. */
export interface VersionRecord {
  id: string;
  modelId: string;
  status: VersionStatus;
  stage: VersionStage;
  task: Task;
}

export interface VersionRef {
  model: string;
  version: string;
}

/** What one model's artifact scan allows beyond the gate policy. */
export interface ScanAllowanceRules {
  /** Pickle globals, as `module.name` or `module.*`. */
  allowedGlobals: string[];
  /** ONNX operator domains, e.g. `com.microsoft`. */
  allowedOnnxDomains: string[];
}

/** A model's scan allowances as an admin last set them, and why. */
export interface ScanAllowances extends ScanAllowanceRules {
  reason: string;
  changedBy: string;
  changedAt: string;
}
