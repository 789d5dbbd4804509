/** Severities as modelscan grades them: CRITICAL means code could run on load. */
export const FINDING_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

/**
 * One problem a scan found in an artifact, precise enough to act on without
 * re-running the scan: which file, where inside it, and why it matters.
 */
export interface SecurityFinding {
  severity: FindingSeverity;
  /** Stable code of the rule that fired, e.g. `dangerous_global`, `zip_path_traversal`. */
  rule: string;
  /** The version's file, at its manifest path. */
  file: string;
  /**
   * Where inside the file: zip entries joined with ` › `, then the place in
   * the innermost member, e.g. `archive/data.pkl › opcode at byte 112`.
   */
  location: string;
  /** For an imported pickle global. */
  module?: string;
  name?: string;
  why: string;
}

/** Orders findings most severe first, then by file and location, so reports read the same every run. */
export function sortFindings(findings: SecurityFinding[]): SecurityFinding[] {
  const rank = (severity: FindingSeverity) => FINDING_SEVERITIES.indexOf(severity);
  return [...findings].sort((a, b) => rank(a.severity) - rank(b.severity) || a.file.localeCompare(b.file) || a.location.localeCompare(b.location));
}
