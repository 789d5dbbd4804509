/**
 * The audit actions that are lifecycle events, published to webhooks under
 * the same names: one set of names for the log and for receivers.
 */
export const LIFECYCLE_EVENTS = [
  'version.committed',
  'gate.passed',
  'gate.failed',
  'gate.error',
  'promotion.awaiting_approval',
  'promotion.approved',
  'promotion.rejected',
  'promotion.completed',
  'stage.rolled_back',
  'stage.canary_aborted',
] as const;

/** Families the monitoring lib audits step by step and alert by alert: every action under them is a lifecycle event. */
export const LIFECYCLE_EVENT_FAMILIES = ['analysis', 'alert'] as const;

/** What POST /v1/webhooks/{id}/test sends: to that subscription only, whatever its filter. */
export const TEST_EVENT = 'webhook.test';

export function isLifecycleEvent(action: string): boolean {
  return (LIFECYCLE_EVENTS as readonly string[]).includes(action) || LIFECYCLE_EVENT_FAMILIES.some((family) => action.startsWith(`${family}.`));
}

/** Every family a prefix pattern (`gate.*`) may name. */
const FAMILIES = [...new Set([...LIFECYCLE_EVENTS.map((name) => name.slice(0, name.indexOf('.'))), ...LIFECYCLE_EVENT_FAMILIES])];

/** What a subscription's events[] may hold, for messages that name them. */
export const EVENT_PATTERNS_HELP = `one of ${LIFECYCLE_EVENTS.join(', ')}; any ${LIFECYCLE_EVENT_FAMILIES.map((family) => `${family}.<name>`).join(' or ')}; a family as ${FAMILIES.map((family) => `${family}.*`).join(', ')}; or * for every event`;

/** Patterns of a subscription's events[] that match no lifecycle event (empty when all are good). */
export function unknownEventPatterns(patterns: readonly string[]): string[] {
  return patterns.filter((pattern) => {
    if (pattern === '*') return false;
    if (pattern.endsWith('.*')) return !FAMILIES.includes(pattern.slice(0, -2));
    return !isLifecycleEvent(pattern) || LIFECYCLE_EVENT_FAMILIES.some((family) => pattern === `${family}.`);
  });
}

/** Whether an event of `type` goes to a subscription with these patterns: `*`, a family's `prefix.*`, or the exact name. */
export function matchesEventFilter(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))));
}
