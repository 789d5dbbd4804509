import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import { DatasetEntity } from '../entities';
import { DatasetExistsError } from '../errors';

@Injectable()
export class DatasetRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, dataset: Pick<DatasetEntity, 'name' | 'version' | 'description' | 'sha256' | 'uri' | 'dataSchema' | 'createdBy'>): Promise<DatasetEntity> {
    const repository = tx.getRepository(DatasetEntity);
    try {
      return await repository.save(repository.create({ ...dataset, stored: false, size: null }));
    } catch (error) {
      if (sqlState(error) === PG_UNIQUE_VIOLATION) throw new DatasetExistsError(dataset.name, dataset.version);
      throw error;
    }
  }

  find(name: string, version: string, tx: EntityManager = this.dataSource.manager, lock = false): Promise<DatasetEntity | null> {
    return tx.getRepository(DatasetEntity).findOne({
      where: { name, version },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
  }

  /** Resolves several `name@version` pairs in one query. */
  findMany(tx: EntityManager, refs: { name: string; version: string }[]): Promise<DatasetEntity[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return tx
      .getRepository(DatasetEntity)
      .createQueryBuilder('d')
      .where('(d.name, d.version) IN (SELECT * FROM unnest(:names::text[], :versions::text[]))', {
        names: refs.map((r) => r.name),
        versions: refs.map((r) => r.version),
      })
      .getMany();
  }

  async markStored(tx: EntityManager, id: string, content: { sha256: string; size: number }): Promise<void> {
    await tx.getRepository(DatasetEntity).update({ id }, { ...content, stored: true });
  }
}
