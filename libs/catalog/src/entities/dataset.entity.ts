import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintAsNumber } from '@gatehouse/database';

@Entity('datasets')
export class DatasetEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  @Column('text')
  version: string;

  @Column('text', { nullable: true })
  description: string | null;

  @Column('text', { nullable: true })
  sha256: string | null;

  @Column('bigint', { nullable: true, transformer: bigintAsNumber })
  size: number | null;

  @Column('text', { nullable: true })
  uri: string | null;

  /** Whether the bytes are in our blob store (uploaded), not just described by a checksum and URI. */
  @Column('boolean')
  stored: boolean;

  @Column('jsonb', { name: 'data_schema', nullable: true })
  dataSchema: Record<string, unknown> | null;

  @Column('text', { name: 'created_by' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
