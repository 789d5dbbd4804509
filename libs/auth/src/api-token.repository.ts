import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import { ApiTokenEntity } from './api-token.entity';
import { TokenNameTakenError } from './errors';

/** Serialises admin bootstrap across replicas starting at once. */
const BOOTSTRAP_LOCK_KEY = 0x6164_6d6e; // "admn"

@Injectable()
export class ApiTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  findActiveByHash(tokenHash: string): Promise<ApiTokenEntity | null> {
    return this.dataSource.getRepository(ApiTokenEntity).findOneBy({ tokenHash, revokedAt: IsNull() });
  }

  async insert(tx: EntityManager, token: Omit<ApiTokenEntity, 'id' | 'createdAt' | 'revokedAt' | 'lastUsedAt'>): Promise<ApiTokenEntity> {
    try {
      return await tx.getRepository(ApiTokenEntity).save(tx.getRepository(ApiTokenEntity).create(token));
    } catch (error) {
      if (sqlState(error) === PG_UNIQUE_VIOLATION) throw new TokenNameTakenError(token.name);
      throw error;
    }
  }

  list(): Promise<ApiTokenEntity[]> {
    return this.dataSource.getRepository(ApiTokenEntity).find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async names(tx: EntityManager): Promise<string[]> {
    return (await tx.getRepository(ApiTokenEntity).find({ select: { name: true } })).map((t) => t.name);
  }

  findById(tx: EntityManager, id: string): Promise<ApiTokenEntity | null> {
    return tx.getRepository(ApiTokenEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async revoke(tx: EntityManager, id: string): Promise<void> {
    await tx.getRepository(ApiTokenEntity).update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
  }

  async lockBootstrap(tx: EntityManager): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
  }

  hasActiveAdmin(tx: EntityManager): Promise<boolean> {
    return tx.getRepository(ApiTokenEntity).createQueryBuilder('t').where('t.revoked_at IS NULL').andWhere(`'admin' = ANY(t.roles)`).getExists();
  }

  findByHash(tx: EntityManager, tokenHash: string): Promise<ApiTokenEntity | null> {
    return tx.getRepository(ApiTokenEntity).findOneBy({ tokenHash });
  }

  /** Records use at most once a minute per token, so reads stay reads. */
  async touch(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_tokens SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }
}
