import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import type { ScanAllowances } from '../catalog.types';
import { ModelEntity } from '../entities';
import { ModelExistsError } from '../errors';
import { whereNameOrDescriptionContains } from './name-search';

export interface ModelFilter {
  search?: string;
  tag?: string;
  afterName?: string;
  limit: number;
}

@Injectable()
export class ModelRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, model: Pick<ModelEntity, 'name' | 'description' | 'owner' | 'tags' | 'createdBy'>): Promise<ModelEntity> {
    const repository = tx.getRepository(ModelEntity);
    try {
      return await repository.save(repository.create(model));
    } catch (error) {
      if (sqlState(error) === PG_UNIQUE_VIOLATION) throw new ModelExistsError(model.name);
      throw error;
    }
  }

  findByName(name: string, tx: EntityManager = this.dataSource.manager): Promise<ModelEntity | null> {
    return tx.getRepository(ModelEntity).findOneBy({ name });
  }

  /** Keyset page ordered by name: stable under concurrent inserts, no OFFSET scans. */
  list(filter: ModelFilter): Promise<ModelEntity[]> {
    const query = this.dataSource.getRepository(ModelEntity).createQueryBuilder('m').orderBy('m.name', 'ASC').limit(filter.limit);
    if (filter.afterName !== undefined) query.andWhere('m.name > :after', { after: filter.afterName });
    if (filter.tag) query.andWhere(':tag = ANY(m.tags)', { tag: filter.tag });
    if (filter.search) whereNameOrDescriptionContains(query, 'm', filter.search);
    return query.getMany();
  }

  /** The model's row, locked until the transaction ends: edits of one model are made one at a time, each seeing the last. */
  lockByName(tx: EntityManager, name: string): Promise<ModelEntity | null> {
    return tx.getRepository(ModelEntity).findOne({ where: { name }, lock: { mode: 'pessimistic_write' } });
  }

  async updateMetadata(tx: EntityManager, id: string, fields: Partial<Pick<ModelEntity, 'description' | 'owner' | 'tags'>>): Promise<ModelEntity> {
    await tx.getRepository(ModelEntity).update({ id }, { ...fields, updatedAt: () => 'now()' });
    return tx.getRepository(ModelEntity).findOneByOrFail({ id });
  }

  /** The model's id and scan allowances, its row locked until the transaction ends: changes to one model's allowances are made one at a time. */
  async lockScanAllowances(tx: EntityManager, name: string): Promise<{ id: string; scanAllowances: ScanAllowances | null } | undefined> {
    const [row] = await tx.query<{ id: string; scan_allowances: ScanAllowances | null }[]>('SELECT id, scan_allowances FROM models WHERE name = $1 FOR UPDATE', [name]);
    return row && { id: row.id, scanAllowances: row.scan_allowances };
  }

  async recordScanAllowances(tx: EntityManager, id: string, allowances: ScanAllowances): Promise<void> {
    await tx.query('UPDATE models SET scan_allowances = $2, updated_at = now() WHERE id = $1', [id, JSON.stringify(allowances)]);
  }

  /** The model's scan allowances as the caller's transaction sees them; null when it has none or does not exist. */
  async scanAllowancesOf(tx: EntityManager, name: string): Promise<ScanAllowances | null> {
    const [row] = await tx.query<{ scan_allowances: ScanAllowances | null }[]>('SELECT scan_allowances FROM models WHERE name = $1', [name]);
    return row?.scan_allowances ?? null;
  }

  async touch(tx: EntityManager, id: string): Promise<void> {
    await tx.getRepository(ModelEntity).update({ id }, { updatedAt: () => 'now()' });
  }
}
