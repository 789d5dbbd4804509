import { Injectable } from '@nestjs/common';
import type { Principal } from '@gatehouse/auth';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { decodeCursor, keysetPage } from '../cursor';
import type { CreateModelDto, ListModelsQuery, ModelPage, ModelResponse } from '../dto/model.dto';
import type { ModelEntity } from '../entities';
import { ModelNotFoundError } from '../errors';
import { ModelRepository } from '../repositories/model.repository';

const DEFAULT_PAGE_SIZE = 50;

@Injectable()
export class ModelService {
  constructor(
    private readonly models: ModelRepository,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
  ) {}

  async create(actor: Principal, request: CreateModelDto): Promise<ModelResponse> {
    const model = await this.transactions.run(async (tx) => {
      const created = await this.models.insert(tx, {
        name: request.name,
        description: request.description ?? null,
        owner: request.owner ?? null,
        tags: request.tags ?? [],
        createdBy: actor.name,
      });
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'model.created',
        subject: `model:${created.name}`,
        payload: { description: created.description, owner: created.owner, tags: created.tags },
      });
      return created;
    });
    return this.map(model);
  }

  async get(name: string): Promise<ModelResponse> {
    return this.map(await this.require(name));
  }

  async list(query: ListModelsQuery): Promise<ModelPage> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.models.list({
      search: query.search,
      tag: query.tag,
      afterName: query.cursor === undefined ? undefined : decodeCursor<string>(query.cursor, 'string'),
      limit: limit + 1,
    });
    return keysetPage(rows, limit, (model) => model.name, (model) => this.map(model));
  }

  /** The model row, or a 404 naming it. */
  async require(name: string): Promise<ModelEntity> {
    const model = await this.models.findByName(name);
    if (!model) throw new ModelNotFoundError(name);
    return model;
  }

  private map(model: ModelEntity): ModelResponse {
    return {
      name: model.name,
      description: model.description,
      owner: model.owner,
      tags: model.tags,
      createdBy: model.createdBy,
      createdAt: model.createdAt.toISOString(),
      updatedAt: model.updatedAt.toISOString(),
    };
  }
}
