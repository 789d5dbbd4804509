import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { EntityList } from '@gatehouse/database';

/** An end-entity public key, an end-entity certificate, or a CA root that vouches for certificates it issued. */
export type SignerKind = 'public_key' | 'certificate' | 'ca';

@Entity('trusted_signers')
export class TrustedSignerEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  @Column('text')
  kind: SignerKind;

  @Column('text', { name: 'public_key_pem' })
  publicKeyPem: string;

  /** For certificate and CA signers. */
  @Column('text', { name: 'certificate_pem', nullable: true })
  certificatePem: string | null;

  /** Public keys: the OMS key hint (hex SHA-256 of the SPKI PEM). Certificates: hex SHA-256 of the DER. */
  @Column('text')
  fingerprint: string;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column('text', { name: 'created_by' })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;
}

export const integrityEntities: EntityList = [TrustedSignerEntity];
