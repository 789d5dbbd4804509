import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@gatehouse/auth';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { ContentAddressedStore, DigestMismatchError } from '@gatehouse/storage';
import type { CreateDatasetDto, DatasetPage, DatasetResponse, ListDatasetsQuery } from '../dto/dataset.dto';
import { decodeCursor, InvalidCursorError, keysetPage } from '@gatehouse/openapi';
import type { DatasetEntity } from '../entities';
import { DatasetFileExistsError, DatasetInUseError, DatasetNotFoundError, DatasetNotStoredError } from '../errors';
import { BlobReferenceRepository } from '../repositories/blob-reference.repository';
import { DatasetRepository } from '../repositories/dataset.repository';
import type { OpenedFile, UploadDeclaration } from './version.service';

const DEFAULT_PAGE_SIZE = 50;

/** A dataset page's cursor holds the last name and version, as JSON. */
function decodeDatasetCursor(cursor: string): [string, string] {
  const key = decodeCursor<string>(cursor, 'string');
  try {
    const pair: unknown = JSON.parse(key);
    if (Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === 'string')) return pair as [string, string];
  } catch {
    // Not JSON: not a cursor of this list.
  }
  throw new InvalidCursorError();
}

@Injectable()
export class DatasetService {
  constructor(
    private readonly datasets: DatasetRepository,
    private readonly references: BlobReferenceRepository,
    private readonly transactions: TransactionRunner,
    private readonly content: ContentAddressedStore,
    private readonly audit: AuditLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(actor: Principal, request: CreateDatasetDto): Promise<DatasetResponse> {
    const dataset = await this.transactions.run(async (tx) => {
      const created = await this.datasets.insert(tx, {
        name: request.name,
        version: request.version,
        description: request.description ?? null,
        sha256: request.sha256 ?? null,
        uri: request.uri ?? null,
        dataSchema: request.schema ?? null,
        createdBy: actor.name,
      });
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'dataset.registered',
        subject: `dataset:${created.name}@${created.version}`,
        payload: { sha256: created.sha256, uri: created.uri },
      });
      return created;
    });
    return this.map(dataset);
  }

  async get(name: string, version: string): Promise<DatasetResponse> {
    return this.map(await this.require(name, version));
  }

  /** Stores the dataset's bytes once; a declared checksum must match them, or nothing is kept. */
  async upload(actor: Principal, name: string, version: string, body: Readable, declared: UploadDeclaration): Promise<DatasetResponse> {
    const dataset = await this.require(name, version);
    if (dataset.stored) throw new DatasetFileExistsError(name, version);
    if (dataset.sha256 && declared.sha256 && dataset.sha256 !== declared.sha256) {
      throw new DigestMismatchError(dataset.sha256, declared.sha256);
    }
    let lease: string | undefined;
    const stored = await this.content.ingest(body, {
      maxBytes: this.config.maxFileSize,
      expectedSha256: dataset.sha256 ?? declared.sha256,
      beforePublish: async (content) => void (lease = await this.references.lease(content.sha256)),
    });
    await this.transactions.run(async (tx) => {
      const locked = await this.datasets.find(name, version, tx, true);
      if (!locked) throw new DatasetNotFoundError(name, version);
      if (locked.stored) throw new DatasetFileExistsError(name, version);
      await this.datasets.markStored(tx, locked.id, stored);
      await this.references.release(tx, lease);
      await this.audit.append(tx, { actor: actor.name, action: 'dataset.file_uploaded', subject: `dataset:${name}@${version}`, payload: { ...stored } });
    });
    return this.get(name, version);
  }

  async list(query: ListDatasetsQuery): Promise<DatasetPage> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.datasets.list({ search: query.search, after: query.cursor === undefined ? undefined : decodeDatasetCursor(query.cursor), limit: limit + 1 });
    return keysetPage(
      rows,
      limit,
      (dataset) => JSON.stringify([dataset.name, dataset.version]),
      (dataset) => this.map(dataset),
    );
  }

  /**
   * Deletes a dataset no version names (409 naming those that do), audited;
   * its bytes stay until the blob collector finds nothing else holds them.
   */
  async delete(actor: Principal, name: string, version: string): Promise<DatasetResponse> {
    const removed = await this.transactions.run(async (tx) => {
      const dataset = await this.datasets.find(name, version, tx, true);
      if (!dataset) throw new DatasetNotFoundError(name, version);
      const users = await this.datasets.users(tx, dataset.id, 10);
      if (users.length > 0) throw new DatasetInUseError(name, version, users);
      await this.datasets.remove(tx, dataset.id);
      await this.audit.append(tx, { actor: actor.name, action: 'dataset.deleted', subject: `dataset:${name}@${version}`, payload: { sha256: dataset.sha256, size: dataset.size } });
      return dataset;
    });
    return this.map(removed);
  }

  async openFile(name: string, version: string): Promise<OpenedFile> {
    const dataset = await this.require(name, version);
    if (!dataset.stored || !dataset.sha256 || dataset.size === null) throw new DatasetNotStoredError(name, version);
    const content = { sha256: dataset.sha256, size: dataset.size };
    await this.content.assertIntact(content);
    return { path: `${name}-${version}`, ...content, mediaType: 'application/octet-stream', stream: await this.content.openVerified(content) };
  }

  private async require(name: string, version: string): Promise<DatasetEntity> {
    const dataset = await this.datasets.find(name, version);
    if (!dataset) throw new DatasetNotFoundError(name, version);
    return dataset;
  }

  private map(dataset: DatasetEntity): DatasetResponse {
    return {
      name: dataset.name,
      version: dataset.version,
      description: dataset.description,
      sha256: dataset.sha256,
      size: dataset.size,
      uri: dataset.uri,
      stored: dataset.stored,
      schema: dataset.dataSchema,
      createdBy: dataset.createdBy,
      createdAt: dataset.createdAt.toISOString(),
    };
  }
}
