import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '@gatehouse/auth';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import type { ScanAllowanceRules, ScanAllowances } from '../catalog.types';
import { decodeCursor, keysetPage } from '@gatehouse/openapi';
import type { CreateModelDto, ListModelsQuery, ModelPage, ModelResponse, ModelScanAllowancesResponse, UpdateModelDto } from '../dto/model.dto';
import type { ModelEntity } from '../entities';
import { FieldImmutableError, ModelNotFoundError } from '../errors';
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

  /**
   * Changes what `patch` gives of description, owner and tags (tags as a
   * whole), under the model's row lock, and audits each changed field with
   * its old and new value. A patch that changes nothing is answered, not audited.
   */
  async update(actor: Principal, name: string, patch: UpdateModelDto): Promise<ModelResponse> {
    if (patch.name !== undefined && patch.name !== name) {
      throw new FieldImmutableError(`model "${name}"`, 'name', 'a model is known by its name in every version, lineage edge and audit event; create a new model instead');
    }
    const model = await this.transactions.run(async (tx) => {
      const current = await this.models.lockByName(tx, name);
      if (!current) throw new ModelNotFoundError(name);
      const changes = changedFields(current, { description: patch.description, owner: patch.owner, tags: patch.tags });
      if (Object.keys(changes).length === 0) return current;
      const updated = await this.models.updateMetadata(tx, current.id, Object.fromEntries(Object.entries(changes).map(([field, change]) => [field, change.to])));
      await this.audit.append(tx, { actor: actor.name, action: 'model.updated', subject: `model:${name}`, payload: { changes } });
      return updated;
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
    return keysetPage(
      rows,
      limit,
      (model) => model.name,
      (model) => this.map(model),
    );
  }

  async scanAllowances(name: string): Promise<ModelScanAllowancesResponse> {
    const model = await this.require(name);
    return scanAllowancesResponse(model.name, model.scanAllowances);
  }

  /**
   * Replaces what the model's artifact scan allows beyond the gate policy and
   * audits the old and new rules with the reason, in one transaction under
   * the model's row lock. The gates validate `rules` before: what a scan may
   * allow is theirs to judge.
   */
  async changeScanAllowances(actor: Principal, name: string, rules: ScanAllowanceRules, reason: string): Promise<ModelScanAllowancesResponse> {
    const allowances = await this.transactions.run(async (tx) => {
      const model = await this.models.lockScanAllowances(tx, name);
      if (!model) throw new ModelNotFoundError(name);
      const changed: ScanAllowances = {
        allowedGlobals: rules.allowedGlobals,
        allowedOnnxDomains: rules.allowedOnnxDomains,
        reason,
        changedBy: actor.name,
        changedAt: new Date().toISOString(),
      };
      await this.models.recordScanAllowances(tx, model.id, changed);
      const previous = model.scanAllowances;
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'model.scan_allowances_changed',
        subject: `model:${name}`,
        payload: {
          previous: { allowedGlobals: previous?.allowedGlobals ?? [], allowedOnnxDomains: previous?.allowedOnnxDomains ?? [] },
          current: { allowedGlobals: changed.allowedGlobals, allowedOnnxDomains: changed.allowedOnnxDomains },
          reason,
        },
      });
      return changed;
    });
    return scanAllowancesResponse(name, allowances);
  }

  /** What the model's artifact scan allows beyond the gate policy, as the caller's transaction sees it; null when nothing. */
  async scanAllowanceRulesOf(tx: EntityManager, name: string): Promise<ScanAllowanceRules | null> {
    const allowances = await this.models.scanAllowancesOf(tx, name);
    return allowances && { allowedGlobals: allowances.allowedGlobals, allowedOnnxDomains: allowances.allowedOnnxDomains };
  }

  /** The model row, or a 404 naming it. */
  /** The id of a model, for feature libs that key their rows by it. */
  async idOf(name: string): Promise<string> {
    return (await this.require(name)).id;
  }

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

type ModelMetadata = Pick<ModelEntity, 'description' | 'owner' | 'tags'>;

/** The fields `patch` gives that differ from `current`, each with its old and new value. */
function changedFields(current: ModelMetadata, patch: Partial<ModelMetadata>): Partial<{ [K in keyof ModelMetadata]: { from: ModelMetadata[K]; to: ModelMetadata[K] } }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of ['description', 'owner', 'tags'] as const) {
    const to = patch[field];
    if (to === undefined || JSON.stringify(to) === JSON.stringify(current[field])) continue;
    changes[field] = { from: current[field], to };
  }
  return changes;
}

function scanAllowancesResponse(model: string, allowances: ScanAllowances | null): ModelScanAllowancesResponse {
  return {
    model,
    allowedGlobals: allowances?.allowedGlobals ?? [],
    allowedOnnxDomains: allowances?.allowedOnnxDomains ?? [],
    reason: allowances?.reason ?? null,
    changedBy: allowances?.changedBy ?? null,
    changedAt: allowances?.changedAt ?? null,
    links: { audit: `/v1/audit?subject=${encodeURIComponent(`model:${model}`)}&action=model.scan_allowances_changed` },
  };
}
