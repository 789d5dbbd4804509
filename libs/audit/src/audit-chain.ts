import { createHash } from 'node:crypto';

/** The hash that precedes the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEventContent {
  seq: number;
  occurredAt: Date;
  actor: string;
  action: string;
  subject: string;
  payload: Record<string, unknown>;
}

/**
 * JSON with object keys sorted at every depth: the same event always
 * serialises to the same bytes, whatever order its fields were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** hash = SHA-256(prev_hash ‖ canonical event): changing, removing or reordering any event breaks every later link. */
export function chainHash(prevHash: string, event: AuditEventContent): string {
  return createHash('sha256')
    .update(prevHash, 'utf8')
    .update(
      canonicalJson({
        seq: event.seq,
        occurredAt: event.occurredAt.toISOString(),
        actor: event.actor,
        action: event.action,
        subject: event.subject,
        payload: event.payload,
      }),
      'utf8',
    )
    .digest('hex');
}
