import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditEventEntity } from './audit-event.entity';

export interface AuditFilter {
  subject?: string;
  /** Events about the model itself and about any of its versions. */
  model?: string;
  action?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  beforeSeq?: number;
  limit: number;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Locks the head row until the transaction ends: appends from every replica queue here. */
  async lockHead(tx: EntityManager): Promise<ChainHead> {
    const [head] = await tx.query<{ seq: string; hash: string }[]>('SELECT seq, hash FROM audit_chain_head FOR UPDATE');
    return { seq: Number(head.seq), hash: head.hash };
  }

  async head(): Promise<ChainHead> {
    const [head] = await this.dataSource.query<{ seq: string; hash: string }[]>('SELECT seq, hash FROM audit_chain_head');
    return { seq: Number(head.seq), hash: head.hash };
  }

  async append(tx: EntityManager, event: AuditEventEntity): Promise<void> {
    await tx.query(
      `INSERT INTO audit_events (seq, occurred_at, actor, action, subject, payload, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [event.seq, event.occurredAt, event.actor, event.action, event.subject, JSON.stringify(event.payload), event.prevHash, event.hash],
    );
    await tx.query('UPDATE audit_chain_head SET seq = $1, hash = $2', [event.seq, event.hash]);
  }

  /** Newest first, keyset-paginated by seq. */
  list(filter: AuditFilter): Promise<AuditEventEntity[]> {
    const query = this.dataSource.getRepository(AuditEventEntity).createQueryBuilder('e').orderBy('e.seq', 'DESC').limit(filter.limit);
    if (filter.beforeSeq !== undefined) query.andWhere('e.seq < :before', { before: filter.beforeSeq });
    if (filter.subject) query.andWhere('e.subject = :subject', { subject: filter.subject });
    if (filter.model) {
      query.andWhere(`(e.subject = :modelSubject OR starts_with(e.subject, :versionPrefix))`, {
        modelSubject: `model:${filter.model}`,
        versionPrefix: `version:${filter.model}@`,
      });
    }
    if (filter.action) query.andWhere('e.action = :action', { action: filter.action });
    if (filter.actor) query.andWhere('e.actor = :actor', { actor: filter.actor });
    if (filter.since) query.andWhere('e.occurred_at >= :since', { since: filter.since });
    if (filter.until) query.andWhere('e.occurred_at < :until', { until: filter.until });
    return query.getMany();
  }

  /** A batch of the chain in order, for verification. */
  batchAfter(seq: number, limit: number): Promise<AuditEventEntity[]> {
    return this.dataSource.getRepository(AuditEventEntity).createQueryBuilder('e').where('e.seq > :seq', { seq }).orderBy('e.seq', 'ASC').limit(limit).getMany();
  }
}
