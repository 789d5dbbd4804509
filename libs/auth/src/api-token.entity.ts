import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from './roles';
import type { EntityList } from '@gatehouse/database';

@Entity('api_tokens')
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  /** Hex SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough. */
  @Column('text', { name: 'token_hash' })
  tokenHash: string;

  @Column('text', { array: true })
  roles: Role[];

  @Column('text', { name: 'created_by' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;
}

export const authEntities: EntityList = [ApiTokenEntity];
