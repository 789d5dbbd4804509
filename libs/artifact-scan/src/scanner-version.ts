/**
 * The artifact scanner's rule set, as a version recorded with every verdict.
 * Bump it whenever a change could turn a passing artifact into a failing one
 * (a new rule, a global removed from the allow-list, a format newly read):
 * the registry then re-scans what serves or is validated.
 */
export const SCANNER_VERSION = '2026.12.1';
