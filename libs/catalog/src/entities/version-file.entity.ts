import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintAsNumber } from '@gatehouse/database';

@Entity('version_files')
export class VersionFileEntity {
  @PrimaryColumn('uuid', { name: 'version_id' })
  versionId: string;

  @PrimaryColumn('text')
  path: string;

  @Column('text')
  sha256: string;

  @Column('bigint', { transformer: bigintAsNumber })
  size: number;

  @Column('text', { name: 'media_type' })
  mediaType: string;

  @UpdateDateColumn({ name: 'uploaded_at', type: 'timestamptz' })
  uploadedAt: Date;
}
