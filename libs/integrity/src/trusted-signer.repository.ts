import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import { SignerExistsError } from './errors';
import { TrustedSignerEntity } from './trusted-signer.entity';

@Injectable()
export class TrustedSignerRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(
    tx: EntityManager,
    signer: Pick<TrustedSignerEntity, 'name' | 'kind' | 'publicKeyPem' | 'certificatePem' | 'fingerprint' | 'expiresAt' | 'createdBy'>,
  ): Promise<TrustedSignerEntity> {
    const repository = tx.getRepository(TrustedSignerEntity);
    try {
      return await repository.save(repository.create(signer));
    } catch (error) {
      if (sqlState(error) === PG_UNIQUE_VIOLATION) {
        throw new SignerExistsError(String((error as { constraint?: string }).constraint ?? '').includes('fingerprint') ? 'key' : 'name');
      }
      throw error;
    }
  }

  list(): Promise<TrustedSignerEntity[]> {
    return this.dataSource.getRepository(TrustedSignerEntity).find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findByFingerprint(fingerprint: string, tx: EntityManager = this.dataSource.manager): Promise<TrustedSignerEntity | null> {
    return tx.getRepository(TrustedSignerEntity).findOneBy({ fingerprint });
  }

  /** Every certificate and CA signer, revoked ones included (their revocation must be reported, not ignored). */
  certificates(tx: EntityManager = this.dataSource.manager): Promise<TrustedSignerEntity[]> {
    return tx.getRepository(TrustedSignerEntity).find({ where: [{ kind: 'certificate' }, { kind: 'ca' }] });
  }

  findById(id: string, tx: EntityManager = this.dataSource.manager): Promise<TrustedSignerEntity | null> {
    return tx.getRepository(TrustedSignerEntity).findOneBy({ id });
  }

  async revoke(tx: EntityManager, id: string): Promise<void> {
    await tx.getRepository(TrustedSignerEntity).update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
  }
}
