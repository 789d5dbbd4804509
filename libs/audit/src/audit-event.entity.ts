import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber, type EntityList } from '@gatehouse/database';

@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryColumn('bigint', { transformer: bigintAsNumber })
  seq: number;

  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt: Date;

  @Column('text')
  actor: string;

  @Column('text')
  action: string;

  @Column('text')
  subject: string;

  @Column('jsonb')
  payload: Record<string, unknown>;

  @Column('text', { name: 'prev_hash' })
  prevHash: string;

  @Column('text')
  hash: string;
}

export const auditEntities: EntityList = [AuditEventEntity];
