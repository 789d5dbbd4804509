import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface AliasRow {
  alias: string;
  version: string;
  setBy: string;
  setAt: Date;
}

/** model_aliases: one row per model and alias, pointing at one of the model's versions. */
@Injectable()
export class AliasRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Where the alias points, with the alias locked until the transaction ends
   * (on every replica), so that moves of one alias apply one after the other
   * and each sees the last. A lock on the name rather than on the row: the
   * first two sets of a new alias have no row to lock.
   */
  async lock(tx: EntityManager, modelId: string, alias: string): Promise<AliasRow | undefined> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`model_aliases:${modelId}:${alias}`]);
    return this.find(modelId, alias, tx);
  }

  /** Where the alias points, if the model has it. */
  async find(modelId: string, alias: string, tx: EntityManager = this.dataSource.manager): Promise<AliasRow | undefined> {
    const [row] = await tx.query<RawAlias[]>(
      'SELECT a.alias, v.version, a.set_by, a.set_at FROM model_aliases a JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = $1 AND a.alias = $2',
      [modelId, alias],
    );
    return row && fromRaw(row);
  }

  /** Points `alias` at the version (`version` names it), creating or moving it in one statement; call it under {@link lock}. */
  async set(tx: EntityManager, modelId: string, alias: string, version: { id: string; version: string }, actor: string): Promise<AliasRow> {
    const [row] = await tx.query<Omit<RawAlias, 'version'>[]>(
      `INSERT INTO model_aliases (model_id, alias, version_id, set_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id, set_by = excluded.set_by, set_at = now()
       RETURNING alias, set_by, set_at`,
      [modelId, alias, version.id, actor],
    );
    return fromRaw({ ...row, version: version.version });
  }

  async remove(tx: EntityManager, modelId: string, alias: string): Promise<void> {
    await tx.query('DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2', [modelId, alias]);
  }

  async list(modelId: string): Promise<AliasRow[]> {
    const rows = await this.dataSource.query<RawAlias[]>(
      `SELECT a.alias, v.version, a.set_by, a.set_at FROM model_aliases a JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = $1 ORDER BY a.alias`,
      [modelId],
    );
    return rows.map(fromRaw);
  }

  /** The aliases of each of `versionIds`, in one query, sorted. */
  async ofVersions(versionIds: string[], tx: EntityManager = this.dataSource.manager): Promise<Map<string, string[]>> {
    const byVersion = new Map<string, string[]>();
    if (versionIds.length === 0) return byVersion;
    const rows = await tx.query<{ version_id: string; alias: string }[]>('SELECT version_id, alias FROM model_aliases WHERE version_id = ANY($1::uuid[]) ORDER BY alias', [
      versionIds,
    ]);
    for (const row of rows) byVersion.set(row.version_id, [...(byVersion.get(row.version_id) ?? []), row.alias]);
    return byVersion;
  }
}

interface RawAlias {
  alias: string;
  version: string;
  set_by: string;
  set_at: Date | string;
}

function fromRaw(row: RawAlias): AliasRow {
  return { alias: row.alias, version: row.version, setBy: row.set_by, setAt: new Date(row.set_at) };
}
