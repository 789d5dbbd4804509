import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import { ModelEntity } from '../entities';
import { ModelExistsError } from '../errors';

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
    if (filter.search) {
      query.andWhere(`(m.name ILIKE :pattern ESCAPE '\\' OR m.description ILIKE :pattern ESCAPE '\\')`, {
        pattern: `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    }
    return query.getMany();
  }

  async touch(tx: EntityManager, id: string): Promise<void> {
    await tx.getRepository(ModelEntity).update({ id }, { updatedAt: () => 'now()' });
  }
}
