import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintAsNumber } from '@gatehouse/database';
import type { IoSchema, SchemaSource, Task } from '@gatehouse/gate-engine';
import type { LatestGate, SecurityVerdict, SourceInfo, VersionStage, VersionStatus } from '../catalog.types';

@Entity('model_versions')
export class ModelVersionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'model_id' })
  modelId: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', transformer: bigintAsNumber })
  seq: number;

  @Column('text')
  version: string;

  @Column('text')
  status: VersionStatus;

  @Column('text')
  stage: VersionStage;

  @Column('text')
  task: Task;

  @Column('text', { nullable: true })
  format: string | null;

  @Column('text', { nullable: true })
  description: string | null;

  @Column('jsonb')
  metrics: Record<string, number>;

  @Column('jsonb')
  params: Record<string, unknown>;

  @Column('jsonb')
  environment: Record<string, unknown>;

  @Column('jsonb')
  source: SourceInfo;

  @Column('jsonb', { name: 'io_schema', nullable: true })
  ioSchema: IoSchema | null;

  /** Set exactly when ioSchema is: declared by the registrant, or inferred from the model by a gate run. */
  @Column('text', { name: 'schema_source', nullable: true })
  schemaSource: SchemaSource | null;

  @Column('text', { name: 'manifest_digest', nullable: true })
  manifestDigest: string | null;

  @Column('bigint', { name: 'total_size', nullable: true, transformer: bigintAsNumber })
  totalSize: number | null;

  @Column('integer', { name: 'file_count', nullable: true })
  fileCount: number | null;

  @Column('text', { name: 'created_by' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column('timestamptz', { name: 'committed_at', nullable: true })
  committedAt: Date | null;

  /** Free key/value labels; unlike metrics, params and the manifest, they may change after commit. */
  @Column('jsonb')
  tags: Record<string, string>;

  @Column('jsonb', { name: 'last_gate', nullable: true })
  lastGate: LatestGate | null;

  @Column('jsonb', { nullable: true })
  security: SecurityVerdict | null;
}
