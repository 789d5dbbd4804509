import { Injectable } from '@nestjs/common';
import { TransactionalEvent } from '@gatehouse/database';
import type { AuditEventContent } from './audit-chain';

/** An audit event as it was appended to the chain. */
export type AppendedAuditEvent = AuditEventContent;

/**
 * Published by AuditLog.append in the transaction that appends, right after
 * the event is in the chain: since every use case audits what it does, a lib
 * above audit (events' outbox) hears every action and writes beside it, in
 * the same transaction, without audit knowing it exists.
 */
@Injectable()
export class AuditAppended extends TransactionalEvent<AppendedAuditEvent> {}
