import type { SecurityVerdict } from '@gatehouse/catalog';
import { GATE_CHECKS, GatePolicy, type GateReport, type StagePolicy } from '@gatehouse/gate-engine';
import { canonicalJson, compareScannerVersions, decideSecurity, rescanPolicy, rescanReason, scanOutcome, scanPolicyDigest, stampScanResult } from './scan-verdict';

const policy = (stages: Record<string, unknown>) => GatePolicy.parse({ stages }, GATE_CHECKS);
const scanOf = (thresholds: Record<string, unknown> = {}, severity?: string) =>
  policy({ registered: { checks: { files_intact: {}, artifact_scan: { thresholds, ...(severity ? { severity } : {}) } } } }).resolve('registered', 'classification');
const verdict = (overrides: Partial<SecurityVerdict> = {}): SecurityVerdict => ({
  status: 'clean',
  scannerVersion: '2026.12.1',
  policyDigest: 'a'.repeat(64),
  gateRunId: 'run-1',
  at: '2026-12-01T00:00:00.000Z',
  ...overrides,
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: 'x' } })).toBe('{"a":{"c":"x","d":[2,1]},"b":1}');
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});

describe('scanPolicyDigest', () => {
  it("is the SHA-256 of the scan's severity and resolved thresholds, whatever order the policy wrote them in", () => {
    const digest = scanPolicyDigest(scanOf({ maxZipEntries: 10, maxZipDepth: 1 }));
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(scanPolicyDigest(scanOf({ maxZipDepth: 1, maxZipEntries: 10 }))).toBe(digest);
  });

  it('changes with any threshold, an allowed global, or the severity, and ignores the other checks', () => {
    const base = scanPolicyDigest(scanOf());
    expect(scanPolicyDigest(scanOf({ maxZipEntries: 2 }))).not.toBe(base);
    expect(scanPolicyDigest(scanOf({ allowedGlobals: ['mylab.config.TrainConfig'] }))).not.toBe(base);
    expect(scanPolicyDigest(scanOf({}, 'warning'))).not.toBe(base);
    const withoutOthers = policy({ registered: { checks: { artifact_scan: {} } } }).resolve('registered', 'classification');
    expect(scanPolicyDigest(withoutOthers)).toBe(base);
  });

  it('is null for a policy that does not scan', () => {
    expect(scanPolicyDigest(policy({ staging: { checks: { files_intact: {} } } }).resolve('staging', 'classification'))).toBeNull();
  });
});

describe('compareScannerVersions', () => {
  it('orders dotted versions numerically', () => {
    expect(compareScannerVersions('2026.12.10', '2026.12.9')).toBe(1);
    expect(compareScannerVersions('2026.12.1', '2027.1.1')).toBe(-1);
    expect(compareScannerVersions('2026.12', '2026.12.0')).toBe(0);
  });
});

describe('rescanPolicy', () => {
  const shipped = policy({
    registered: { checks: { files_intact: {}, artifact_scan: {} } },
    staging: { checks: { files_intact: {} } },
    production: { checks: { artifact_scan: { thresholds: { maxZipDepth: 0 } } } },
  });

  it("runs only the scan: production's for a production version, the registration gate's for the rest", () => {
    const production = rescanPolicy(shipped, 'production', 'classification')!;
    expect(production.stage).toBe('production');
    expect(production.checks.map((check) => check.id)).toEqual(['artifact_scan']);
    expect(production.checks[0].thresholds.maxZipDepth).toBe(0);
    for (const stage of ['none', 'staging', 'canary', 'rolled_back'] as const) {
      const other = rescanPolicy(shipped, stage, 'classification')!;
      expect(other.stage).toBe('registered');
      expect(other.checks.map((check) => check.id)).toEqual(['artifact_scan']);
    }
  });

  it('has nothing to run when no stage scans', () => {
    expect(rescanPolicy(policy({ staging: { checks: { files_intact: {} } } }), 'staging', 'classification')).toBeUndefined();
  });
});

describe('rescanReason', () => {
  it('re-scans what was never scanned, or was scanned by an older scanner or under another policy', () => {
    expect(rescanReason(null, '2026.12.1', 'a'.repeat(64))).toBe('never_scanned');
    expect(rescanReason(verdict(), '2026.12.2', 'a'.repeat(64))).toBe('scanner_changed');
    expect(rescanReason(verdict(), '2026.12.1', 'b'.repeat(64))).toBe('policy_changed');
    expect(rescanReason(verdict({ status: 'flagged' }), '2026.12.1', 'a'.repeat(64))).toBeUndefined();
  });

  it("leaves a newer scanner's verdict alone (a replica not yet upgraded)", () => {
    expect(rescanReason(verdict({ scannerVersion: '2027.1.1' }), '2026.12.1', 'b'.repeat(64))).toBeUndefined();
  });
});

function report(results: { id: string; status: 'passed' | 'warning' | 'failed' | 'error' | 'skipped'; message?: string }[]): GateReport {
  return {
    results: results.map((result) => ({ family: 'security', severity: 'critical', value: null, threshold: null, durationMs: 1, message: '', ...result })),
  } as unknown as GateReport;
}

describe('scanOutcome', () => {
  const scanning = scanOf();
  const notScanning: StagePolicy = { ...scanning, checks: scanning.checks.filter((check) => check.id !== 'artifact_scan') };

  it("follows the scan's result: passed or warning is clean, failed or error flags", () => {
    expect(scanOutcome(scanning, 'passed', report([{ id: 'artifact_scan', status: 'passed' }]))).toEqual({ status: 'clean' });
    expect(scanOutcome(scanning, 'passed', report([{ id: 'artifact_scan', status: 'warning' }]))).toEqual({ status: 'clean' });
    expect(scanOutcome(scanning, 'failed', report([{ id: 'artifact_scan', status: 'failed', message: '1 HIGH' }]))).toEqual({ status: 'flagged', message: '1 HIGH' });
    expect(scanOutcome(scanning, 'failed', report([{ id: 'artifact_scan', status: 'error', message: 'could not complete' }]))).toMatchObject({ status: 'flagged' });
  });

  it('flags a run that failed before it could scan, and says nothing of a run that ended in error', () => {
    expect(scanOutcome(scanning, 'failed', report([{ id: 'workspace', status: 'failed', message: 'ENAMETOOLONG' }]))).toEqual({
      status: 'flagged',
      message: 'the scan could not run: ENAMETOOLONG',
    });
    expect(scanOutcome(scanning, 'error', null)).toBeUndefined();
    expect(scanOutcome(notScanning, 'failed', report([{ id: 'files_intact', status: 'failed' }]))).toBeUndefined();
  });
});

describe('decideSecurity', () => {
  const verdictOf = (status: 'clean' | 'flagged', scannerVersion = '2026.12.2') => ({
    status,
    scannerVersion,
    policyDigest: 'c'.repeat(64),
    gateRunId: 'run-2',
    at: '2026-12-02T00:00:00.000Z',
    ...(status === 'flagged' ? { message: 'found' } : {}),
  });
  const scan = (status: 'clean' | 'flagged', scannerVersion = '2026.12.2', runSeq = 2) => ({ ...verdictOf(status, scannerVersion), runSeq, standingRunSeq: 1 });

  it('flags a version whose scan fails, and records the first verdict of one never scanned', () => {
    expect(decideSecurity(verdict(), scan('flagged'))).toEqual({ verdict: verdictOf('flagged'), flagged: true, cleared: false });
    expect(decideSecurity(null, { ...scan('clean'), standingRunSeq: null })).toEqual({ verdict: verdictOf('clean'), flagged: false, cleared: false });
  });

  it('lifts a flag only with a scan that passes', () => {
    const flagged = verdict({ status: 'flagged' });
    expect(decideSecurity(flagged, scan('clean'))).toMatchObject({ verdict: { status: 'clean', gateRunId: 'run-2' }, cleared: true });
    expect(decideSecurity(flagged, scan('flagged'))).toMatchObject({ verdict: { status: 'flagged', gateRunId: 'run-2' }, flagged: true, cleared: false });
  });

  it("lets no run queued before the verdict's own (an older policy snapshot) lift its flag", () => {
    expect(decideSecurity(verdict({ status: 'flagged' }), scan('clean', '2026.12.2', 0))).toEqual({ flagged: false, cleared: false });
  });

  it("lets no older scanner overrule a newer one's verdict, either way", () => {
    expect(decideSecurity(verdict({ status: 'flagged', scannerVersion: '2027.1.1' }), scan('clean'))).toEqual({ flagged: false, cleared: false });
    expect(decideSecurity(verdict({ scannerVersion: '2027.1.1' }), scan('flagged'))).toEqual({ flagged: false, cleared: false });
  });
});

describe('stampScanResult', () => {
  it("adds the scanner version and digest to the scan result's details only", () => {
    const stamped = stampScanResult(
      report([
        { id: 'files_intact', status: 'passed' },
        { id: 'artifact_scan', status: 'passed' },
      ]),
      '2026.12.1',
      'd'.repeat(64),
    );
    expect(stamped.results[1].details).toEqual({ scannerVersion: '2026.12.1', policyDigest: 'd'.repeat(64) });
    expect(stamped.results[0].details).toBeUndefined();
  });
});
