import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@gatehouse/auth';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { ContentAddressedStore, DigestMismatchError } from '@gatehouse/storage';
import type { CreateDatasetDto, DatasetResponse } from '../dto/dataset.dto';
import type { DatasetEntity } from '../entities';
import { DatasetFileExistsError, DatasetNotFoundError, DatasetNotStoredError } from '../errors';
import { DatasetRepository } from '../repositories/dataset.repository';
import type { OpenedFile, UploadDeclaration } from './version.service';

@Injectable()
export class DatasetService {
  constructor(
    private readonly datasets: DatasetRepository,
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
    const stored = await this.content.ingest(body, {
      maxBytes: this.config.maxFileSize,
      expectedSha256: dataset.sha256 ?? declared.sha256,
    });
    await this.transactions.run(async (tx) => {
      const locked = await this.datasets.find(name, version, tx, true);
      if (!locked) throw new DatasetNotFoundError(name, version);
      if (locked.stored) throw new DatasetFileExistsError(name, version);
      await this.datasets.markStored(tx, locked.id, stored);
      await this.audit.append(tx, { actor: actor.name, action: 'dataset.file_uploaded', subject: `dataset:${name}@${version}`, payload: { ...stored } });
    });
    return this.get(name, version);
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
