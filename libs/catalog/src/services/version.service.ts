import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '@gatehouse/auth';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { DomainError } from '@gatehouse/errors';
import { SignatureRejectedError, SignatureVerifier } from '@gatehouse/integrity';
import type { FileDigest } from '@gatehouse/model-signing';
import { BlobCorruptError, BlobMissingError, ContentAddressedStore } from '@gatehouse/storage';
import { detectFormat, mediaTypeOf, parseArtifactPath } from '../artifact-path';
import { versionSubject } from '../audit-subject';
import { decodeCursor, keysetPage } from '@gatehouse/openapi';
import type {
  DeclaredVersionResponse,
  FileVerificationResponse,
  SignatureVerificationResponse,
  VersionVerificationResponse,
  UploadedFileResponse,
  VersionPage,
  VersionResponse,
  VersionSummaryResponse,
} from '../dto/version-response.dto';
import type { DeclareVersionDto, ListVersionsQuery } from '../dto/version.dto';
import type { IoSchema, SchemaSource, Task } from '@gatehouse/gate-engine';
import type { LatestGate, VersionRecord, VersionStage, VersionStatus } from '../catalog.types';
import type { DatasetUseRow } from '../repositories/version.repository';
import type { ModelEntity, ModelVersionEntity, VersionFileEntity } from '../entities';
import {
  DatasetNotFoundError,
  DatasetWithoutChecksumError,
  DuplicateReferenceError,
  FileNotFoundError,
  InvalidVersionError,
  ModelNotFoundError,
  ParentNotCommittedError,
  ParentNotFoundError,
  PathConflictError,
  VersionHasNoFilesError,
  VersionNotAbandonableError,
  VersionNotFoundError,
  VersionSealedError,
} from '../errors';
import { isSemanticVersion, manifestDigest, sortManifest } from '../manifest';
import { parseTagFilter } from '../version-tags';
import { ALIAS_NAME } from '../alias-policy';
import { AliasRepository } from '../repositories/alias.repository';
import { BlobReferenceRepository } from '../repositories/blob-reference.repository';
import { DatasetRepository } from '../repositories/dataset.repository';
import { ModelRepository } from '../repositories/model.repository';
import { VersionRepository } from '../repositories/version.repository';
import { ModelService } from './model.service';
import { VersionCommitted } from './version-events';

const DEFAULT_PAGE_SIZE = 50;
const DEFAULT_RELATION = 'derived_from';

/** What the client said about the bytes it is about to send (its Content-Length is checked before any route: create-registry). */
export interface UploadDeclaration {
  sha256?: string;
}

export interface OpenedFile {
  path: string;
  sha256: string;
  size: number;
  mediaType: string;
  stream: Readable;
}

@Injectable()
export class VersionService {
  constructor(
    private readonly models: ModelRepository,
    private readonly modelService: ModelService,
    private readonly versions: VersionRepository,
    private readonly aliases: AliasRepository,
    private readonly blobReferences: BlobReferenceRepository,
    private readonly datasets: DatasetRepository,
    private readonly transactions: TransactionRunner,
    private readonly content: ContentAddressedStore,
    private readonly audit: AuditLog,
    private readonly signatures: SignatureVerifier,
    private readonly committed: VersionCommitted,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Step 1 of registration: the version's metadata and lineage, in pending_upload. */
  async declare(actor: Principal, modelName: string, request: DeclareVersionDto): Promise<DeclaredVersionResponse> {
    if (!isSemanticVersion(request.version)) throw new InvalidVersionError(request.version);
    const ref = { model: modelName, version: request.version };
    const parents = request.parents ?? [];
    const datasetUses = request.datasets ?? [];
    assertUnique(
      'parents',
      parents.map((p) => `${p.model}@${p.version}`),
    );
    assertUnique(
      'datasets',
      datasetUses.map((d) => `${d.name}@${d.version}:${d.role}`),
    );

    await this.transactions.run(async (tx) => {
      const model = await this.models.findByName(modelName, tx);
      if (!model) throw new ModelNotFoundError(modelName);

      const foundParents = await this.versions.findRefs(tx, parents);
      const parentIds = parents.map((parent) => {
        const found = foundParents.find((f) => f.model === parent.model && f.version === parent.version);
        if (!found) throw new ParentNotFoundError(parent);
        if (found.status === 'pending_upload') throw new ParentNotCommittedError(parent);
        return { id: found.id, relation: parent.relation ?? DEFAULT_RELATION };
      });

      const foundDatasets = await this.datasets.findMany(tx, datasetUses);
      const uses = datasetUses.map((use) => {
        const dataset = foundDatasets.find((d) => d.name === use.name && d.version === use.version);
        if (!dataset) throw new DatasetNotFoundError(use.name, use.version);
        if (!dataset.sha256) throw new DatasetWithoutChecksumError(use.name, use.version);
        return { datasetId: dataset.id, role: use.role };
      });

      const version = await this.versions.insert(
        tx,
        {
          modelId: model.id,
          version: request.version,
          task: request.task,
          description: request.description ?? null,
          tags: request.tags ?? {},
          metrics: request.metrics ?? {},
          params: request.params ?? {},
          environment: request.environment ?? {},
          source: { ...request.source },
          ioSchema: request.schema ? { inputs: request.schema.inputs, outputs: request.schema.outputs } : null,
          schemaSource: request.schema ? 'declared' : null,
          createdBy: actor.name,
        },
        ref,
      );
      await this.versions.addParents(tx, version.id, parentIds);
      await this.versions.addDatasetUses(tx, version.id, uses);
      await this.models.touch(tx, model.id);
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'version.declared',
        subject: versionSubject(ref),
        payload: { task: request.task, parents, datasets: datasetUses, source: request.source ?? {}, tags: request.tags ?? {} },
      });
    });

    const view = await this.get(modelName, request.version);
    return {
      ...view,
      uploadUrl: `/v1/models/${encodeURIComponent(modelName)}/versions/${encodeURIComponent(request.version)}/files/{path}`,
    };
  }

  /**
   * Step 2: streams one file into content-addressed storage, hashing as it
   * goes. The version row is only touched once the bytes are safely stored.
   */
  async upload(actor: Principal, modelName: string, versionName: string, rawPath: string, body: Readable, declared: UploadDeclaration): Promise<UploadedFileResponse> {
    const path = parseArtifactPath(rawPath);
    if (declared.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(declared.sha256)) {
      throw new DomainError('invalid', 'invalid_digest_header', 'x-content-sha256 must be 64 lowercase hex characters');
    }
    const { model, version } = await this.resolve(modelName, versionName);
    const ref = { model: modelName, version: versionName };
    if (version.status !== 'pending_upload') throw new VersionSealedError(ref, version.status);
    // Checked before the bytes are read so a doomed upload costs nothing, and again under the row lock,
    // where concurrent uploads of `x` and `x/y` (on any replica) serialise and the second one loses.
    await this.assertNoDirectoryConflict(version.id, path);

    let lease: string | undefined;
    const stored = await this.content.ingest(body, {
      maxBytes: this.config.maxFileSize,
      expectedSha256: declared.sha256,
      beforePublish: async (content) => void (lease = await this.blobReferences.lease(content.sha256)),
    });
    await this.transactions.run(async (tx) => {
      const locked = await this.versions.find(model.id, versionName, tx, true);
      if (!locked) throw new VersionNotFoundError(ref);
      if (locked.status !== 'pending_upload') throw new VersionSealedError(ref, locked.status);
      await this.assertNoDirectoryConflict(locked.id, path, tx);
      await this.versions.putFile(tx, { versionId: locked.id, path, ...stored, mediaType: mediaTypeOf(path) });
      await this.blobReferences.release(tx, lease);
      await this.audit.append(tx, { actor: actor.name, action: 'version.file_uploaded', subject: versionSubject(ref), payload: { path, ...stored } });
    });
    return { path, ...stored };
  }

  private async assertNoDirectoryConflict(versionId: string, path: string, tx?: EntityManager): Promise<void> {
    const existing = await this.versions.directoryConflict(versionId, path, tx);
    if (existing !== undefined) throw new PathConflictError(path, existing);
  }

  /** Step 3: seals the manifest; from here on the version is immutable. */
  async commit(actor: Principal, modelName: string, versionName: string, signature?: unknown): Promise<VersionResponse> {
    const ref = { model: modelName, version: versionName };
    try {
      await this.seal(actor, ref, signature);
    } catch (error) {
      if (error instanceof SignatureRejectedError) {
        await this.transactions.run((tx) =>
          this.audit.append(tx, { actor: actor.name, action: 'version.signature_rejected', subject: versionSubject(ref), payload: { ...(error.details as object) } }),
        );
      }
      throw error;
    }
    return this.get(modelName, versionName);
  }

  /** Verifies the signature (if any) against the uploaded files and seals the manifest, all under the version's row lock. */
  private async seal(actor: Principal, ref: { model: string; version: string }, signature: unknown): Promise<void> {
    const { model: modelName, version: versionName } = ref;
    await this.transactions.run(async (tx) => {
      const model = await this.models.findByName(modelName, tx);
      if (!model) throw new ModelNotFoundError(modelName);
      const version = await this.versions.find(model.id, versionName, tx, true);
      if (!version) throw new VersionNotFoundError(ref);
      if (version.status !== 'pending_upload') throw new VersionSealedError(ref, version.status);
      const files = await this.versions.files(version.id, tx);
      if (files.length === 0) throw new VersionHasNoFilesError(ref);
      const manifest = {
        manifestDigest: manifestDigest(files),
        totalSize: files.reduce((sum, file) => sum + file.size, 0),
        fileCount: files.length,
        format: detectFormat(files.map((file) => file.path)),
      };
      const verified = signature === undefined ? undefined : await this.signatures.verify(signature, files, tx);
      await this.versions.seal(tx, version.id, manifest);
      if (verified) await this.versions.saveSignature(tx, version.id, verified.signerId, verified.bundle);
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'version.committed',
        subject: versionSubject(ref),
        payload: { ...manifest, signer: verified ? { name: verified.signerName, fingerprint: verified.fingerprint } : null },
      });
      await this.committed.publish(tx, { id: version.id, model: modelName, version: versionName, task: version.task, committedBy: actor.name });
    });
  }

  /** What a gate needs to know about a committed version: its files, datasets, schema and its source, and reported metrics. */
  async gateSubject(versionId: string): Promise<GateSubjectRecord> {
    const manager = this.transactions.manager;
    const row = await this.versions.findWithModelName(versionId, manager);
    if (!row) throw new DomainError('not_found', 'version_not_found', `version ${versionId} does not exist`);
    const [files, datasets] = await Promise.all([this.versions.files(versionId, manager), this.versions.datasetUses(versionId, manager)]);
    return {
      id: row.version.id,
      model: row.model,
      version: row.version.version,
      task: row.version.task,
      status: row.version.status,
      stage: row.version.stage,
      schema: row.version.ioSchema,
      schemaSource: row.version.schemaSource,
      metrics: row.version.metrics,
      files: sortManifest(files).map((file) => ({ path: file.path, sha256: file.sha256, size: file.size })),
      datasets,
    };
  }

  /** The version's tags as the caller's transaction sees them: a gate's policy depends on some (runtime=browser). */
  async tagsOf(tx: EntityManager, versionId: string): Promise<Record<string, string>> {
    return (await this.versions.findWithModelName(versionId, tx))?.version.tags ?? {};
  }

  /** `model@version` for feature libs that key their rows by it and check where it stands. */
  async lookup(modelName: string, versionName: string): Promise<VersionRecord> {
    const { model, version } = await this.resolve(modelName, versionName);
    return { id: version.id, modelId: model.id, status: version.status, stage: version.stage, task: version.task };
  }

  /**
   * Records a gate's outcome on the version, in the caller's transaction; with
   * `status`, also moves the version along registered → validating → validated | rejected.
   */
  async recordGate(tx: EntityManager, versionId: string, gate: LatestGate, status?: VersionStatus): Promise<void> {
    await this.versions.recordGate(tx, versionId, gate, status);
  }

  /**
   * Stores the schema a gate run inferred from the model, in the caller's
   * transaction (the one recording the run's outcome), and audits it. Only a
   * version without a schema takes one: a declared schema is never replaced,
   * and a second run inferring from the same bytes changes nothing.
   */
  async recordInferredSchema(
    tx: EntityManager,
    version: { id: string; model: string; version: string },
    schema: IoSchema,
    by: { actor: string; gateRunId: string },
  ): Promise<void> {
    if (!(await this.versions.recordInferredSchema(tx, version.id, schema))) return;
    await this.audit.append(tx, {
      actor: by.actor,
      action: 'version.schema_inferred',
      subject: versionSubject(version),
      payload: { gateRunId: by.gateRunId, inputs: schema.inputs.map((tensor) => tensor.name), outputs: schema.outputs.map((tensor) => tensor.name) },
    });
  }

  /**
   * Re-hashes every stored file and re-verifies the signature against today's
   * trust (a signer revoked since commit fails here), reporting each part.
   */
  async verify(modelName: string, versionName: string): Promise<VersionVerificationResponse> {
    const { version } = await this.resolve(modelName, versionName);
    const files = sortManifest(await this.versions.files(version.id));
    const checked: FileVerificationResponse[] = [];
    for (const file of files) {
      const entry = { path: file.path, sha256: file.sha256, size: file.size };
      try {
        await this.content.assertIntact(file);
        checked.push({ ...entry, status: 'ok' });
      } catch (error) {
        if (error instanceof BlobCorruptError) checked.push({ ...entry, status: 'corrupt', actualSha256: (error.details as { actualSha256: string }).actualSha256 });
        else if (error instanceof BlobMissingError) checked.push({ ...entry, status: 'missing' });
        else throw error;
      }
    }
    const signature = await this.signatureStatus(version.id, files);
    return { ok: checked.every((file) => file.status === 'ok') && signature.ok, files: checked, signature };
  }

  /** The stored signature checked against the manifest and today's trusted signers; an unsigned version is `ok` but not `present`. */
  async signatureStatus(versionId: string, files: FileDigest[]): Promise<SignatureVerificationResponse> {
    const stored = await this.versions.signature(versionId);
    if (!stored) return { present: false, ok: true };
    try {
      await this.signatures.verify(stored.bundle, files);
      return { present: true, ok: true, signer: stored.signer };
    } catch (error) {
      if (!(error instanceof SignatureRejectedError)) throw error;
      return { present: true, ok: false, signer: stored.signer, reason: (error.details as { reason: string }).reason, message: error.message };
    }
  }

  /**
   * Abandons a version still pending upload: its row, files, lineage and
   * dataset uses go in one transaction under its row lock, audited with the
   * files it had; their bytes go with the next blob collection if nothing
   * else holds them. A committed version is a 409: it is history.
   */
  async abandon(actor: Principal, modelName: string, versionName: string): Promise<{ model: string; version: string; files: { path: string; sha256: string; size: number }[] }> {
    const ref = { model: modelName, version: versionName };
    return this.transactions.run(async (tx) => {
      const model = await this.models.findByName(modelName, tx);
      if (!model) throw new ModelNotFoundError(modelName);
      const version = await this.versions.find(model.id, versionName, tx, true);
      if (!version) throw new VersionNotFoundError(ref);
      if (version.status !== 'pending_upload') throw new VersionNotAbandonableError(ref, version.status);
      const files = sortManifest(await this.versions.files(version.id, tx)).map((file) => ({ path: file.path, sha256: file.sha256, size: file.size }));
      await this.versions.remove(tx, version.id);
      await this.audit.append(tx, { actor: actor.name, action: 'version.abandoned', subject: versionSubject(ref), payload: { files } });
      return { ...ref, files };
    });
  }

  async get(modelName: string, versionName: string): Promise<VersionResponse> {
    const { version } = await this.resolve(modelName, versionName);
    return this.view(modelName, version, this.transactions.manager);
  }

  async list(modelName: string, query: ListVersionsQuery): Promise<VersionPage> {
    const model = await this.modelService.require(modelName);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.versions.list(model.id, {
      status: query.status,
      stage: query.stage,
      versionPrefix: query.search,
      tags: query.tag?.map(parseTagFilter),
      beforeSeq: query.cursor === undefined ? undefined : decodeCursor<number>(query.cursor, 'number'),
      limit: limit + 1,
    });
    const aliases = await this.aliases.ofVersions(rows.map((row) => row.id));
    return keysetPage(
      rows,
      limit,
      (version) => version.seq,
      (version) => this.summary(modelName, version, aliases.get(version.id) ?? []),
    );
  }

  /**
   * Opens a stored file for download. The blob is re-hashed in full first, so
   * corrupt bytes fail with a clear 500 before any are sent; the stream is
   * hashed again as it goes out and breaks off if the blob changes meanwhile.
   */
  async openFile(actor: Principal, modelName: string, versionName: string, rawPath: string): Promise<OpenedFile> {
    const path = parseArtifactPath(rawPath);
    const ref = { model: modelName, version: versionName };
    const { version } = await this.resolve(modelName, versionName);
    const file = await this.versions.file(version.id, path);
    if (!file) throw new FileNotFoundError(ref, path);
    try {
      await this.content.assertIntact(file);
    } catch (error) {
      if (error instanceof BlobCorruptError || error instanceof BlobMissingError) {
        await this.transactions.run((tx) =>
          this.audit.append(tx, {
            actor: actor.name,
            action: 'blob.integrity_failed',
            subject: versionSubject(ref),
            payload: { path, sha256: file.sha256, code: error.code, details: error.details },
          }),
        );
      }
      throw error;
    }
    return { path, sha256: file.sha256, size: file.size, mediaType: file.mediaType, stream: await this.content.openVerified(file) };
  }

  /** The model and version rows for `model@version` or `model@alias`, or a 404 naming which is missing. */
  private async resolve(modelName: string, versionName: string): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    const model = await this.modelService.require(modelName);
    const aliased = ALIAS_NAME.test(versionName) ? (await this.aliases.find(model.id, versionName))?.version : undefined;
    const version = await this.versions.find(model.id, aliased ?? versionName);
    if (!version) throw new VersionNotFoundError({ model: modelName, version: versionName });
    return { model, version };
  }

  private async view(modelName: string, version: ModelVersionEntity, tx: EntityManager): Promise<VersionResponse> {
    const [files, parents, datasets, signature, aliases] = await Promise.all([
      this.versions.files(version.id, tx),
      this.versions.parents(version.id, tx),
      this.versions.datasetUses(version.id, tx),
      this.versions.signature(version.id, tx),
      this.aliases.ofVersions([version.id], tx),
    ]);
    return {
      ...this.summary(modelName, version, aliases.get(version.id) ?? []),
      params: version.params,
      environment: version.environment,
      source: version.source,
      schema: version.ioSchema,
      schemaSource: version.schemaSource,
      parents,
      datasets,
      signature: signature ? { signer: signature.signer, fingerprint: signature.fingerprint, verifiedAt: new Date(signature.verifiedAt).toISOString() } : null,
      files: sortManifest(files).map((file: VersionFileEntity) => ({
        path: file.path,
        sha256: file.sha256,
        size: file.size,
        mediaType: file.mediaType,
      })),
    };
  }

  private summary(modelName: string, version: ModelVersionEntity, aliases: string[]): VersionSummaryResponse {
    return {
      model: modelName,
      version: version.version,
      status: version.status,
      stage: version.stage,
      task: version.task,
      format: version.format,
      description: version.description,
      tags: version.tags,
      aliases,
      metrics: version.metrics,
      manifestDigest: version.manifestDigest,
      size: version.totalSize,
      fileCount: version.fileCount,
      createdBy: version.createdBy,
      createdAt: version.createdAt.toISOString(),
      committedAt: version.committedAt?.toISOString() ?? null,
      gate: version.lastGate,
      security: version.security,
    };
  }
}

export interface GateSubjectRecord {
  id: string;
  model: string;
  version: string;
  task: Task;
  status: VersionStatus;
  stage: VersionStage;
  schema: IoSchema | null;
  schemaSource: SchemaSource | null;
  metrics: Record<string, number>;
  files: { path: string; sha256: string; size: number }[];
  datasets: DatasetUseRow[];
}

function assertUnique(field: string, keys: string[]): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw new DuplicateReferenceError(field, key);
    seen.add(key);
  }
}
