import { createHash } from 'node:crypto';
import type { SecurityVerdict, VersionStage } from '@gatehouse/catalog';
import type { AppConfig } from '@gatehouse/config';
import { SCANNER_VERSION } from '@gatehouse/artifact-scan';
import { GATE_STAGES, type CheckResult, type GatePolicy, type GateReport, type GateStage, type Task, type StagePolicy } from '@gatehouse/gate-engine';

/** The check whose verdict a version's security record follows. */
export const SCAN_CHECK_ID = 'artifact_scan';

/** The scanner version this process records and compares with. */
export function scannerVersionOf(config: AppConfig): string {
  return config.gates.scannerVersion ?? SCANNER_VERSION;
}

/** JSON with object keys sorted at every depth and no whitespace, so equal values always serialise, and hash, alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 of what decides the scan's verdict in a resolved policy: the
 * check's severity (a warning never blocks) and its thresholds, which carry
 * the allowed globals and operator domains. Null when the policy does not scan.
 */
export function scanPolicyDigest(policy: StagePolicy): string | null {
  const scan = policy.checks.find((check) => check.id === SCAN_CHECK_ID);
  if (!scan) return null;
  return createHash('sha256')
    .update(canonicalJson({ check: scan.id, severity: scan.severity, thresholds: scan.thresholds }))
    .digest('hex');
}

/** Orders dotted versions numerically segment by segment ('2026.12.10' > '2026.12.9'); non-numeric segments compare as text. */
export function compareScannerVersions(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const x = left[index] ?? '0';
    const y = right[index] ?? '0';
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
    if (order !== 0) return Math.sign(order);
  }
  return 0;
}

/**
 * The policy a re-scan of a version runs: the scan of the stage it serves at
 * when that stage's gate scans (production does), else the registration
 * gate's scan, which admitted it; only that one check.
 */
export function rescanPolicy(policy: GatePolicy, stage: VersionStage, task: Task): StagePolicy | undefined {
  const preferred = new Set<string>([stage, 'registered', ...GATE_STAGES]);
  const stages = [...preferred].filter((candidate): candidate is GateStage => policy.stageNames.includes(candidate as GateStage));
  for (const candidate of stages) {
    const resolved = policy.resolve(candidate, task);
    const scan = resolved.checks.filter((check) => check.id === SCAN_CHECK_ID);
    if (scan.length > 0) return { ...resolved, checks: scan };
  }
  return undefined;
}

export type RescanReason = 'never_scanned' | 'scanner_changed' | 'policy_changed';

/**
 * Why a verdict predates the scanner or the scan policy now in force, or
 * undefined when it does not. A newer scanner's verdict (from a replica
 * already upgraded, mid-deploy) stands.
 */
export function rescanReason(current: SecurityVerdict | null, scannerVersion: string, policyDigest: string): RescanReason | undefined {
  if (!current) return 'never_scanned';
  const order = compareScannerVersions(current.scannerVersion, scannerVersion);
  if (order > 0) return undefined;
  if (order < 0) return 'scanner_changed';
  return current.policyDigest === policyDigest ? undefined : 'policy_changed';
}

export interface ScanOutcome {
  status: SecurityVerdict['status'];
  message?: string;
}

/**
 * What a finished run says about the version's security, if anything. The
 * scan's own result decides; a run that failed before it could scan (files
 * that cannot be laid out) flags, since what was never read is not clean;
 * a run that ended in error says nothing.
 */
export function scanOutcome(policy: StagePolicy, status: 'passed' | 'failed' | 'error', report: GateReport | null): ScanOutcome | undefined {
  if (!policy.checks.some((check) => check.id === SCAN_CHECK_ID)) return undefined;
  const scan = report?.results.find((result) => result.id === SCAN_CHECK_ID);
  if (scan) {
    if (scan.status === 'passed' || scan.status === 'warning') return { status: 'clean' };
    if (scan.status === 'failed' || scan.status === 'error') return { status: 'flagged', message: scan.message };
    return undefined;
  }
  if (status !== 'failed') return undefined;
  const blocker = report?.results.find((result) => result.status === 'failed' || result.status === 'error');
  return { status: 'flagged', message: `the scan could not run: ${blocker?.message ?? 'the gate failed before it'}` };
}

export interface SecurityDecision {
  /** The verdict to store; undefined keeps the current one. */
  verdict?: SecurityVerdict;
  /** The version is flagged by this verdict. */
  flagged: boolean;
  /** A flag this verdict lifts. */
  cleared: boolean;
}

/** A finished scan, with the queue position of its run and of the run behind the current verdict. */
export type FinishedScan = ScanOutcome &
  Omit<SecurityVerdict, 'status' | 'message'> & {
    runSeq: number;
    /** Null when there is no current verdict or its run is gone. */
    standingRunSeq: number | null;
  };

/**
 * Folds a new scan into the version's verdict. A scan that is older than the
 * current verdict changes nothing: by scanner (a replica not yet upgraded
 * neither clears nor raises a newer scanner's flag) or by queue position (a
 * run queued before the one behind the verdict holds an older policy
 * snapshot). Otherwise the new verdict replaces it, so a flag is lifted only
 * by a newer scan that passes.
 */
export function decideSecurity(current: SecurityVerdict | null, scan: FinishedScan): SecurityDecision {
  const unchanged = { flagged: false, cleared: false };
  if (current && compareScannerVersions(scan.scannerVersion, current.scannerVersion) < 0) return unchanged;
  if (scan.standingRunSeq !== null && scan.runSeq < scan.standingRunSeq) return unchanged;
  const verdict: SecurityVerdict = {
    status: scan.status,
    scannerVersion: scan.scannerVersion,
    policyDigest: scan.policyDigest,
    gateRunId: scan.gateRunId,
    at: scan.at,
    ...(scan.message !== undefined ? { message: scan.message } : {}),
  };
  return { verdict, flagged: scan.status === 'flagged', cleared: scan.status === 'clean' && current?.status === 'flagged' };
}

/** Puts the scanner version and policy digest in the scan result's details, so the report says what it was judged under. */
export function stampScanResult(report: GateReport, scannerVersion: string, policyDigest: string): GateReport {
  return {
    ...report,
    results: report.results.map((result): CheckResult => (result.id === SCAN_CHECK_ID ? { ...result, details: { ...result.details, scannerVersion, policyDigest } } : result)),
  };
}
