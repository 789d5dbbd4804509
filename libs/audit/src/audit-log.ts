import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '@gatehouse/database';
import { DomainError } from '@gatehouse/errors';
import { MetricsService } from '@gatehouse/metrics';
import type { EntityManager } from 'typeorm';
import { AuditAppended } from './audit-appended';
import { chainHash, GENESIS_HASH } from './audit-chain';
import { AuditRepository } from './audit.repository';
import type { AuditPage, ListAuditQuery } from './dto/audit.dto';

export interface AuditEntry {
  /** The token name that acted, or "system". */
  actor: string;
  /** Dotted verb: model.created, version.committed, token.revoked, … */
  action: string;
  /** What it acted on: model:NAME, version:MODEL@VERSION, token:NAME, dataset:NAME@VERSION. */
  subject: string;
  payload?: Record<string, unknown>;
}

export interface ChainVerification {
  ok: boolean;
  /** Events checked. */
  checked: number;
  head: { seq: number; hash: string };
  /** The first seq whose event is missing, edited or unlinked. */
  firstBrokenSeq?: number;
  reason?: string;
}

const VERIFY_BATCH = 1000;
const DEFAULT_PAGE_SIZE = 100;

/** The append-only, hash-chained record of every change. */
@Injectable()
export class AuditLog {
  constructor(
    private readonly events: AuditRepository,
    private readonly transactions: TransactionRunner,
    private readonly metrics: MetricsService,
    private readonly appended: AuditAppended,
  ) {}

  /**
   * Appends inside the caller's transaction, so the event exists exactly when
   * the change does. Locking the chain head serialises appenders across
   * replicas into one linear chain. Counted once the transaction commits.
   * Listeners of {@link AuditAppended} run next, in the same transaction.
   */
  async append(tx: EntityManager, entry: AuditEntry): Promise<void> {
    this.transactions.afterCommit(tx, () => this.metrics.auditEventAppended(entry.action));
    const head = await this.events.lockHead(tx);
    const event = {
      seq: head.seq + 1,
      occurredAt: new Date(),
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      payload: entry.payload ?? {},
    };
    await this.events.append(tx, { ...event, prevHash: head.hash, hash: chainHash(head.hash, event) });
    await this.appended.publish(tx, event);
  }

  /** Events newest first, filtered; the cursor is the last seq of the previous page. */
  async page(query: ListAuditQuery): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.events.list({ ...query, beforeSeq: parseCursor(query.cursor), limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      items: page.map((event) => ({ ...event, occurredAt: event.occurredAt.toISOString() })),
      nextCursor: rows.length > limit ? String(page[page.length - 1].seq) : null,
    };
  }

  /** Recomputes the whole chain and names the first event that was deleted, edited or re-linked. */
  async verify(): Promise<ChainVerification> {
    const head = await this.events.head();
    let previousHash = GENESIS_HASH;
    let expectedSeq = 1;
    const broken = (seq: number, reason: string): ChainVerification => ({ ok: false, checked: expectedSeq - 1, head, firstBrokenSeq: seq, reason });

    for (;;) {
      const batch = await this.events.batchAfter(expectedSeq - 1, VERIFY_BATCH);
      if (batch.length === 0) break;
      for (const event of batch) {
        if (event.seq !== expectedSeq) return broken(expectedSeq, `event ${expectedSeq} is missing`);
        if (event.prevHash !== previousHash) return broken(event.seq, `event ${event.seq} does not link to event ${event.seq - 1}`);
        if (chainHash(previousHash, event) !== event.hash) return broken(event.seq, `event ${event.seq} was altered: its hash does not match its content`);
        previousHash = event.hash;
        expectedSeq++;
      }
    }
    if (head.seq !== expectedSeq - 1) {
      return broken(Math.min(expectedSeq, head.seq + 1), `the chain head counts ${head.seq} events but ${expectedSeq - 1} link up`);
    }
    if (head.hash !== previousHash) return broken(head.seq, `the chain head does not match event ${head.seq}`);
    return { ok: true, checked: expectedSeq - 1, head };
  }
}

function parseCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(cursor)) {
    throw new DomainError('invalid', 'invalid_cursor', 'cursor must be a nextCursor value from a previous page');
  }
  return Number(cursor);
}
