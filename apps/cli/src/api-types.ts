import type { AnalysisPolicy, DriftReport, DriftStatistics, MetricJudgement } from '@gatehouse/canary-judge';
import type { GateReport, IoSchema } from '@gatehouse/gate-engine';

/** The registry's responses, as far as the CLI reads them. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Model {
  name: string;
  description: string | null;
  owner: string | null;
  tags: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ScanAllowances {
  model: string;
  allowedGlobals: string[];
  allowedOnnxDomains: string[];
  reason: string | null;
  changedBy: string | null;
  changedAt: string | null;
  links: { audit: string };
}

export interface Dataset {
  name: string;
  version: string;
  description: string | null;
  sha256: string | null;
  size: number | null;
  uri: string | null;
  stored: boolean;
  createdBy: string;
  createdAt: string;
}

export interface VersionFile {
  path: string;
  sha256: string;
  size: number;
  mediaType: string;
}

export interface Version {
  model: string;
  version: string;
  status: string;
  stage: string;
  task: string;
  format: string | null;
  description: string | null;
  tags: Record<string, string>;
  aliases: string[];
  metrics: Record<string, number>;
  manifestDigest: string | null;
  size: number | null;
  fileCount: number | null;
  createdBy: string;
  createdAt: string;
  committedAt: string | null;
  security?: { status: 'clean' | 'flagged'; scannerVersion: string; policyDigest: string; gateRunId: string; at: string; message?: string } | null;
  source?: { repository?: string; commit?: string; runId?: string };
  params?: Record<string, unknown>;
  environment?: Record<string, unknown>;
  parents?: { model: string; version: string; relation: string }[];
  datasets?: { name: string; version: string; role: string; sha256: string }[];
  schema?: IoSchema | null;
  /** Declared by the registrant, or inferred from the ONNX model by a gate run when none was declared. */
  schemaSource?: 'declared' | 'inferred' | null;
  files?: VersionFile[];
  /** The latest gate run on the version. */
  gate?: { runId: string; stage: string; status: GateRunState['status']; healthScore: number | null; finishedAt: string | null } | null;
}

export interface Token {
  id: string;
  name: string;
  roles: string[];
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  token?: string;
}

export interface AuditEvent {
  seq: number;
  occurredAt: string;
  actor: string;
  action: string;
  subject: string;
  payload: Record<string, unknown>;
  hash: string;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string };
  firstBrokenSeq?: number;
  reason?: string;
}

export interface StageEvent {
  seq: number;
  version: string;
  stage: string;
  action: string;
  actor: string;
  approvers: string[];
  promotionId: string | null;
  gateRunId: string | null;
  reason: string | null;
  at: string;
}

export interface VersionRef {
  model: string;
  version: string;
}

export interface Lineage {
  root: VersionRef;
  nodes: (VersionRef & { status: string; stage: string; task: string; relation: 'self' | 'ancestor' | 'descendant'; stageHistory: StageEvent[] })[];
  edges: { child: VersionRef; parent: VersionRef; relation: string }[];
  datasets: { name: string; version: string; role: string; sha256: string; usedBy: VersionRef }[];
}

export interface Promotion {
  id: string;
  model: string;
  version: string;
  stage: string;
  trafficPercent: number | null;
  reason: string | null;
  status: 'queued' | 'gating' | 'awaiting_approval' | 'completed' | 'rejected';
  requestedBy: string;
  requiredApprovals: number;
  decisions: { actor: string; decision: 'approve' | 'reject'; comment: string | null; decidedAt: string }[];
  gateRunId: string | null;
  outcome: { code: string; message: string; failedChecks?: string[] } | null;
  createdAt: string;
  completedAt: string | null;
}

export interface StageHolder {
  version: string;
  trafficPercent: number | null;
  assignedBy: string;
  assignedAt: string;
  promotionId: string | null;
}

export interface RescanResult {
  scannerVersion: string;
  queued: { gateRunId: string; model: string; version: string; stage: string; reason: string }[];
  alreadyQueued: { gateRunId: string; model: string; version: string }[];
  unscannable: string[];
}

export interface GateRunState {
  id: string;
  status: 'queued' | 'running' | 'passed' | 'failed' | 'error';
  failedChecks: string[];
}

/** GET /v1/gate-runs/{id}. */
export interface GateRun extends GateRunState {
  model: string;
  version: string;
  stage: string;
  healthScore: number | null;
  attempts: number;
  lastError: { code: string; message: string } | null;
  /** While running: the check it is in. */
  progress: { check: string; checksDone: number; checksTotal: number; checkStartedAt: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  report: GateReport | null;
}

/** GET /v1/gate-policy: each stage's checks as its gates run them, extends applied, thresholds resolved for one task. */
export interface EffectiveGatePolicy {
  source: string;
  stages: {
    stage: string;
    extends: string | null;
    task: string;
    settings: Record<string, unknown>;
    checks: { id: string; severity: string; thresholds: Record<string, unknown> }[];
  }[];
}

export interface Alias {
  model: string;
  alias: string;
  version: string;
  setBy: string;
  setAt: string;
  protected: boolean;
}

export interface AliasList {
  model: string;
  items: Alias[];
}

export interface CollectionReport {
  dryRun: boolean;
  graceSeconds: number;
  scanned: { count: number; bytes: number };
  collected: { count: number; bytes: number };
  kept: { count: number; bytes: number };
  young: { count: number; bytes: number };
  temporaries: { removed: number; abortedUploads: number | null } | null;
  expiredLeases: number;
}

/** POST /v1/models/{name}/telemetry. */
export interface TelemetryReceipt {
  accepted: number;
  /** Version windows the batch was merged into. */
  windows: number;
  /** Request ids whose predictions now wait for a label. */
  awaitingLabels: number;
}

/** POST /v1/models/{name}/telemetry/labels. */
export interface LabelReceipt {
  matched: number;
  /** Labels with no waiting prediction: an unknown id, expired, or labelled already. */
  unmatched: number;
}

/** GET /v1/models/{name}/versions/{version}/telemetry. */
export interface TelemetrySummary {
  model: string;
  version: string;
  from: string;
  to: string;
  windows: number;
  observations: number;
  errors: number;
  errorRate: number | null;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  /** Predicted class -> count. */
  classes: Record<string, number>;
  outcomes: { labelled: number; accuracy: number | null; meanSquaredError: number | null };
  /** Input drift against the reference dataset (name@version), and the predictions'; null when the version has no dataset to profile. */
  drift: (DriftReport & { dataset: string; predictions: DriftStatistics | null }) | null;
}

export type AnalysisRunStatus = 'running' | 'paused' | 'passed' | 'rolled_back' | 'aborted' | 'cancelled';

/** One judged interval of a canary analysis, canary against production over one window. */
export interface JudgedInterval {
  number: number;
  /** Index of the traffic step it was judged in. */
  step: number;
  trafficPercent: number;
  windowStart: string;
  windowEnd: string;
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** What the schedule did after it. */
  action: 'none' | 'next_step' | 'rollback' | 'pause' | 'passed';
  metrics: MetricJudgement[];
  /** Why it could not be judged (its metric source did not answer); null when it was. */
  problem: string | null;
}

/** GET /v1/analysis-runs/{id} (with `judged`) and the items of GET /v1/models/{name}/analysis-runs. */
export interface AnalysisRun {
  id: string;
  model: string;
  /** The canary. */
  version: string;
  /** Production when the canary started: what it is compared with. */
  baselineVersion: string;
  status: AnalysisRunStatus;
  /** Index into steps. */
  step: number;
  steps: number[];
  trafficPercent: number;
  passedInStep: number;
  intervals: number;
  failures: number;
  inconclusives: number;
  policy: AnalysisPolicy;
  /** When the running interval ends; null unless running. */
  nextIntervalAt: string | null;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  /** Why it ended: `reason`, and `by` when a person aborted it. */
  outcome: { reason?: string; by?: string } | null;
  judged?: JudgedInterval[];
}
