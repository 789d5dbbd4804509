import { Injectable } from '@nestjs/common';
import { TransactionalEvent } from '@gatehouse/database';

/** An audit event as it was appended to the chain. */
export interface AppendedAuditEvent {
  seq: number;
  occurredAt: Date;
  actor: string;
  action: string;
  subject: string;
  payload: Record<string, unknown>;
}

/**
 * Published by AuditLog.append in the transaction that appends, right after
 * the event is in the chain: since every use case audits what it does, a lib
 * above audit (events' outbox) hears every action and writes beside it, in
 * the same transaction, without audit knowing it exists.
 */
@Injectable()
export class AuditAppended extends TransactionalEvent<AppendedAuditEvent> {}
