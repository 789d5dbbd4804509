import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import { DatasetEntity } from '../entities';
import { DatasetExistsError } from '../errors';
import { whereNameOrDescriptionContains } from './name-search';

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

  /** Keyset page ordered by name then version; `search` matches the name or description. */
  list(filter: { search?: string; after?: [string, string]; limit: number }): Promise<DatasetEntity[]> {
    const query = this.dataSource.getRepository(DatasetEntity).createQueryBuilder('d').orderBy('d.name', 'ASC').addOrderBy('d.version', 'ASC').limit(filter.limit);
    if (filter.after) query.andWhere('(d.name, d.version) > (:afterName, :afterVersion)', { afterName: filter.after[0], afterVersion: filter.after[1] });
    if (filter.search) whereNameOrDescriptionContains(query, 'd', filter.search);
    return query.getMany();
  }

  /** The versions that name the dataset, `model@version`, at most `limit`. */
  async users(tx: EntityManager, datasetId: string, limit: number): Promise<string[]> {
    const rows = await tx.query<{ ref: string }[]>(
      `SELECT m.name || '@' || v.version AS ref FROM version_datasets vd JOIN model_versions v ON v.id = vd.version_id JOIN models m ON m.id = v.model_id
        WHERE vd.dataset_id = $1 ORDER BY m.name, v.seq LIMIT $2`,
      [datasetId, limit],
    );
    return rows.map((row) => row.ref);
  }

  async remove(tx: EntityManager, id: string): Promise<void> {
    await tx.getRepository(DatasetEntity).delete({ id });
  }

  async markStored(tx: EntityManager, id: string, content: { sha256: string; size: number }): Promise<void> {
    await tx.getRepository(DatasetEntity).update({ id }, { ...content, stored: true });
  }
}
