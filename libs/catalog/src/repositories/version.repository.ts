import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { PG_UNIQUE_VIOLATION, sqlState } from '@gatehouse/database';
import type { DatasetRole, IoSchema, Task } from '@gatehouse/gate-engine';
import type { LatestGate, VersionRef, VersionStage, VersionStatus } from '../catalog.types';
import { ModelVersionEntity, VersionFileEntity } from '../entities';
import { VersionExistsError } from '../errors';

export interface VersionFilter {
  status?: VersionStatus;
  stage?: VersionStage;
  versionPrefix?: string;
  /** Every one must match: a key with that value, or with any value when the value is left out. */
  tags?: { key: string; value?: string }[];
  beforeSeq?: number;
  limit: number;
}

export interface ParentRow {
  model: string;
  version: string;
  relation: string;
}

export interface DatasetUseRow {
  name: string;
  version: string;
  role: DatasetRole;
  sha256: string;
  size: number | null;
  uri: string | null;
}

export interface SignatureRow {
  bundle: unknown;
  verifiedAt: Date;
  signer: string;
  fingerprint: string;
}

export interface SealedManifest {
  manifestDigest: string;
  totalSize: number;
  fileCount: number;
  format: string;
}

export interface LineageNodeRow {
  id: string;
  model: string;
  version: string;
  status: VersionStatus;
  stage: VersionStage;
  task: Task;
  createdBy: string;
  createdAt: Date;
  relation: 'self' | 'ancestor' | 'descendant';
  distance: number;
}

export interface LineageEdgeRow {
  childModel: string;
  childVersion: string;
  parentModel: string;
  parentVersion: string;
  relation: string;
}

export interface LineageDatasetRow extends DatasetUseRow {
  model: string;
  modelVersion: string;
}

type NewVersion = Pick<
  ModelVersionEntity,
  'modelId' | 'version' | 'task' | 'description' | 'tags' | 'metrics' | 'params' | 'environment' | 'source' | 'ioSchema' | 'schemaSource' | 'createdBy'
>;

@Injectable()
export class VersionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(tx: EntityManager, version: NewVersion, ref: VersionRef): Promise<ModelVersionEntity> {
    const repository = tx.getRepository(ModelVersionEntity);
    try {
      return await repository.save(repository.create({ ...version, status: 'pending_upload', stage: 'none' }));
    } catch (error) {
      if (sqlState(error) === PG_UNIQUE_VIOLATION) throw new VersionExistsError(ref);
      throw error;
    }
  }

  /** With `lock`, the row stays locked until the transaction ends: commit and upload serialise on it. */
  find(modelId: string, version: string, tx: EntityManager = this.dataSource.manager, lock = false): Promise<ModelVersionEntity | null> {
    return tx.getRepository(ModelVersionEntity).findOne({
      where: { modelId, version },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
  }

  /** Resolves `model@version` references in one query. */
  async findRefs(tx: EntityManager, refs: VersionRef[]): Promise<(VersionRef & { id: string; status: VersionStatus })[]> {
    if (refs.length === 0) return [];
    return tx.query(
      `SELECT v.id, m.name AS model, v.version, v.status
         FROM unnest($1::text[], $2::text[]) AS r(model, version)
         JOIN models m ON m.name = r.model
         JOIN model_versions v ON v.model_id = m.id AND v.version = r.version`,
      [refs.map((r) => r.model), refs.map((r) => r.version)],
    );
  }

  /** Newest first by `seq`, keyset-paginated. */
  list(modelId: string, filter: VersionFilter): Promise<ModelVersionEntity[]> {
    const query = this.dataSource
      .getRepository(ModelVersionEntity)
      .createQueryBuilder('v')
      .where('v.model_id = :modelId', { modelId })
      .orderBy('v.seq', 'DESC')
      .limit(filter.limit);
    if (filter.beforeSeq !== undefined) query.andWhere('v.seq < :before', { before: filter.beforeSeq });
    if (filter.status) query.andWhere('v.status = :status', { status: filter.status });
    if (filter.stage) query.andWhere('v.stage = :stage', { stage: filter.stage });
    filter.tags?.forEach(({ key, value }, index) => {
      if (value === undefined) query.andWhere(`jsonb_exists(v.tags, :tagKey${index})`, { [`tagKey${index}`]: key });
      else query.andWhere(`v.tags @> :tagPair${index}::jsonb`, { [`tagPair${index}`]: JSON.stringify({ [key]: value }) });
    });
    if (filter.versionPrefix) {
      query.andWhere(`v.version LIKE :prefix ESCAPE '\\'`, {
        prefix: `${filter.versionPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    }
    return query.getMany();
  }

  /** Deletes the version row; its files, lineage edges and dataset uses go with it (ON DELETE CASCADE). */
  async remove(tx: EntityManager, versionId: string): Promise<void> {
    await tx.getRepository(ModelVersionEntity).delete({ id: versionId });
  }

  async updateMetadata(tx: EntityManager, versionId: string, fields: Partial<Pick<ModelVersionEntity, 'description' | 'tags'>>): Promise<void> {
    await tx.getRepository(ModelVersionEntity).update({ id: versionId }, fields);
  }

  files(versionId: string, tx: EntityManager = this.dataSource.manager): Promise<VersionFileEntity[]> {
    return tx.getRepository(VersionFileEntity).find({ where: { versionId } });
  }

  file(versionId: string, path: string): Promise<VersionFileEntity | null> {
    return this.dataSource.getRepository(VersionFileEntity).findOneBy({ versionId, path });
  }

  /**
   * A file of the version that cannot sit on disk beside `path`, if any: one
   * of `path`'s directories (`x` for `x/y`), or a file under `path` itself
   * (`x/y` for `x`). `path` itself is no conflict: uploading it again replaces it.
   */
  async directoryConflict(versionId: string, path: string, tx: EntityManager = this.dataSource.manager): Promise<string | undefined> {
    const segments = path.split('/');
    const directories = segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
    const [row]: { path: string }[] = await tx.query(
      `SELECT path FROM version_files
        WHERE version_id = $1 AND (path = ANY($2::text[]) OR starts_with(path, $3))
        ORDER BY path LIMIT 1`,
      [versionId, directories, `${path}/`],
    );
    return row?.path;
  }

  /** Re-uploading a path of an uncommitted version replaces it. */
  async putFile(tx: EntityManager, file: Omit<VersionFileEntity, 'uploadedAt'>): Promise<void> {
    await tx.createQueryBuilder().insert().into(VersionFileEntity).values(file).orUpdate(['sha256', 'size', 'media_type', 'uploaded_at'], ['version_id', 'path']).execute();
  }

  async seal(tx: EntityManager, versionId: string, manifest: SealedManifest): Promise<void> {
    await tx.getRepository(ModelVersionEntity).update({ id: versionId, status: 'pending_upload' }, { ...manifest, status: 'registered', committedAt: () => 'now()' });
  }

  async findWithModelName(versionId: string, tx: EntityManager): Promise<{ version: ModelVersionEntity; model: string } | undefined> {
    const version = await tx.getRepository(ModelVersionEntity).findOneBy({ id: versionId });
    if (!version) return undefined;
    const [{ name }] = await tx.query<{ name: string }[]>('SELECT name FROM models WHERE id = $1', [version.modelId]);
    return { version, model: name };
  }

  async recordGate(tx: EntityManager, versionId: string, gate: LatestGate, status?: VersionStatus): Promise<void> {
    await tx.getRepository(ModelVersionEntity).update({ id: versionId }, { lastGate: gate, ...(status ? { status } : {}) });
  }

  /** Stores a schema inferred from the model on a version that has none; a declared one, or one inferred before, stays. Whether it stored it. */
  async recordInferredSchema(tx: EntityManager, versionId: string, schema: IoSchema): Promise<boolean> {
    const result = await tx
      .createQueryBuilder()
      .update(ModelVersionEntity)
      .set({ ioSchema: schema, schemaSource: 'inferred' })
      .where('id = :versionId AND io_schema IS NULL', { versionId })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async saveSignature(tx: EntityManager, versionId: string, signerId: string, bundle: unknown): Promise<void> {
    await tx.query('INSERT INTO version_signatures (version_id, signer_id, bundle) VALUES ($1, $2, $3)', [versionId, signerId, JSON.stringify(bundle)]);
  }

  async signature(versionId: string, tx: EntityManager = this.dataSource.manager): Promise<SignatureRow | undefined> {
    const [row] = await tx.query<SignatureRow[]>(
      `SELECT s.bundle, s.verified_at AS "verifiedAt", t.name AS signer, t.fingerprint
         FROM version_signatures s JOIN trusted_signers t ON t.id = s.signer_id
        WHERE s.version_id = $1`,
      [versionId],
    );
    return row;
  }

  async addParents(tx: EntityManager, childId: string, parents: { id: string; relation: string }[]): Promise<void> {
    if (parents.length === 0) return;
    await tx.query(
      `INSERT INTO lineage_edges (child_version_id, parent_version_id, relation)
       SELECT $1, p.id, p.relation FROM unnest($2::uuid[], $3::text[]) AS p(id, relation)`,
      [childId, parents.map((p) => p.id), parents.map((p) => p.relation)],
    );
  }

  async addDatasetUses(tx: EntityManager, versionId: string, uses: { datasetId: string; role: DatasetRole }[]): Promise<void> {
    if (uses.length === 0) return;
    await tx.query(
      `INSERT INTO version_datasets (version_id, dataset_id, role)
       SELECT $1, u.id, u.role FROM unnest($2::uuid[], $3::text[]) AS u(id, role)`,
      [versionId, uses.map((u) => u.datasetId), uses.map((u) => u.role)],
    );
  }

  parents(versionId: string, tx: EntityManager = this.dataSource.manager): Promise<ParentRow[]> {
    return tx.query(
      `SELECT m.name AS model, p.version, e.relation
         FROM lineage_edges e
         JOIN model_versions p ON p.id = e.parent_version_id
         JOIN models m ON m.id = p.model_id
        WHERE e.child_version_id = $1
        ORDER BY m.name, p.seq`,
      [versionId],
    );
  }

  async datasetUses(versionId: string, tx: EntityManager = this.dataSource.manager): Promise<DatasetUseRow[]> {
    const rows: (DatasetUseRow & { size: string | null })[] = await tx.query(
      `SELECT d.name, d.version, vd.role, d.sha256, d.size, d.uri
         FROM version_datasets vd JOIN datasets d ON d.id = vd.dataset_id
        WHERE vd.version_id = $1
        ORDER BY vd.role, d.name, d.version`,
      [versionId],
    );
    return rows.map((row) => ({ ...row, size: row.size === null ? null : Number(row.size) }));
  }

  /**
   * The versions within `depth` edges of `rootId` upward (ancestors),
   * downward (descendants) or both, in one recursive query.
   */
  lineageNodes(rootId: string, direction: 'up' | 'down' | 'both', depth: number): Promise<LineageNodeRow[]> {
    return this.dataSource.query(
      `WITH RECURSIVE
         ancestors (id, distance) AS (
           SELECT $1::uuid, 0
           UNION
           SELECT e.parent_version_id, a.distance + 1
             FROM lineage_edges e JOIN ancestors a ON e.child_version_id = a.id
            WHERE $3 AND a.distance < $2
         ),
         descendants (id, distance) AS (
           SELECT $1::uuid, 0
           UNION
           SELECT e.child_version_id, d.distance + 1
             FROM lineage_edges e JOIN descendants d ON e.parent_version_id = d.id
            WHERE $4 AND d.distance < $2
         ),
         reached (id, relation, distance) AS (
           SELECT id, 'ancestor', min(distance) FROM ancestors WHERE distance > 0 GROUP BY id
           UNION ALL
           SELECT id, 'descendant', min(distance) FROM descendants WHERE distance > 0 GROUP BY id
           UNION ALL
           SELECT $1::uuid, 'self', 0
         )
       SELECT v.id, m.name AS model, v.version, v.status, v.stage, v.task,
              v.created_by AS "createdBy", v.created_at AS "createdAt", r.relation, r.distance
         FROM reached r
         JOIN model_versions v ON v.id = r.id
         JOIN models m ON m.id = v.model_id
        ORDER BY r.relation = 'descendant', CASE WHEN r.relation = 'ancestor' THEN -r.distance ELSE r.distance END, m.name, v.seq`,
      [rootId, depth, direction !== 'down', direction !== 'up'],
    );
  }

  lineageEdges(versionIds: string[]): Promise<LineageEdgeRow[]> {
    return this.dataSource.query(
      `SELECT cm.name AS "childModel", c.version AS "childVersion",
              pm.name AS "parentModel", p.version AS "parentVersion", e.relation
         FROM lineage_edges e
         JOIN model_versions c ON c.id = e.child_version_id
         JOIN models cm ON cm.id = c.model_id
         JOIN model_versions p ON p.id = e.parent_version_id
         JOIN models pm ON pm.id = p.model_id
        WHERE e.child_version_id = ANY($1::uuid[]) AND e.parent_version_id = ANY($1::uuid[])
        ORDER BY cm.name, c.seq, pm.name, p.seq`,
      [versionIds],
    );
  }

  async lineageDatasets(versionIds: string[]): Promise<LineageDatasetRow[]> {
    const rows: (LineageDatasetRow & { size: string | null })[] = await this.dataSource.query(
      `SELECT d.name, d.version, vd.role, d.sha256, d.size, d.uri, m.name AS model, v.version AS "modelVersion"
         FROM version_datasets vd
         JOIN datasets d ON d.id = vd.dataset_id
         JOIN model_versions v ON v.id = vd.version_id
         JOIN models m ON m.id = v.model_id
        WHERE vd.version_id = ANY($1::uuid[])
        ORDER BY m.name, v.seq, vd.role, d.name`,
      [versionIds],
    );
    return rows.map((row) => ({ ...row, size: row.size === null ? null : Number(row.size) }));
  }
}
