import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '@gatehouse/auth';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { DomainError } from '@gatehouse/errors';
import { versionSubject } from '../audit-subject';
import type { VersionRef } from '../catalog.types';
import type { VersionResponse } from '../dto/version-response.dto';
import { IMMUTABLE_VERSION_FIELDS, type UpdateVersionDto } from '../dto/version.dto';
import type { ModelVersionEntity } from '../entities';
import { FieldImmutableError, ModelNotFoundError, VersionNotFoundError, VersionTagNotFoundError } from '../errors';
import { ModelRepository } from '../repositories/model.repository';
import { VersionRepository } from '../repositories/version.repository';
import { applyTagPatch, MAX_TAGS_PER_VERSION, TAG_KEY, TAG_KEY_RULE, type TagChange, type TagPatch } from '../version-tags';
import { VersionService } from './version.service';

/**
 * What may change on a version after it is declared, at any status: its
 * description and tags. Every change happens under the version's row lock,
 * so concurrent edits apply one after the other and each audit event holds
 * the value it replaced. Files, metrics, lineage and schema never change.
 */
@Injectable()
export class VersionMetadataService {
  constructor(
    private readonly models: ModelRepository,
    private readonly versions: VersionRepository,
    private readonly views: VersionService,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
  ) {}

  async update(actor: Principal, modelName: string, versionName: string, patch: UpdateVersionDto): Promise<VersionResponse> {
    const ref = { model: modelName, version: versionName };
    const immutable = IMMUTABLE_VERSION_FIELDS.find((field) => patch[field] !== undefined);
    if (immutable) {
      throw new FieldImmutableError(
        `version ${modelName}@${versionName}`,
        immutable,
        "a version's files, metrics, lineage and schema are what its gates checked and its signature covers; register a new version instead (PATCH changes description and tags)",
      );
    }
    await this.transactions.run(async (tx) => {
      const version = await this.lock(tx, ref);
      const changes: { description?: { from: string | null; to: string | null }; tags?: Record<string, TagChange> } = {};
      const fields: Partial<Pick<ModelVersionEntity, 'description' | 'tags'>> = {};
      if (patch.description !== undefined && patch.description !== version.description) {
        changes.description = { from: version.description, to: patch.description };
        fields.description = patch.description;
      }
      if (patch.tags !== undefined) {
        const merged = applyTagPatch(version.tags, patch.tags);
        if (Object.keys(merged.changes).length > 0) {
          assertTagCount(ref, merged.tags);
          changes.tags = merged.changes;
          fields.tags = merged.tags;
        }
      }
      if (Object.keys(fields).length === 0) return;
      await this.versions.updateMetadata(tx, version.id, fields);
      await this.audit.append(tx, { actor: actor.name, action: 'version.updated', subject: versionSubject(ref), payload: { changes } });
    });
    return this.views.get(modelName, versionName);
  }

  /** Sets one tag; setting the value it already has changes and audits nothing. */
  async setTag(actor: Principal, modelName: string, versionName: string, key: string, value: string): Promise<VersionResponse> {
    assertTagKey(key);
    return this.changeTag(actor, { model: modelName, version: versionName }, key, value);
  }

  /** Removes one tag; a 404 when the version has no such tag, so that a mistyped key is noticed. */
  async deleteTag(actor: Principal, modelName: string, versionName: string, key: string): Promise<VersionResponse> {
    assertTagKey(key);
    return this.changeTag(actor, { model: modelName, version: versionName }, key, null);
  }

  private async changeTag(actor: Principal, ref: VersionRef, key: string, value: string | null): Promise<VersionResponse> {
    const patch: TagPatch = { [key]: value };
    await this.transactions.run(async (tx) => {
      const version = await this.lock(tx, ref);
      if (value === null && !(key in version.tags)) throw new VersionTagNotFoundError(ref, key);
      const { tags, changes } = applyTagPatch(version.tags, patch);
      if (!changes[key]) return;
      assertTagCount(ref, tags);
      await this.versions.updateMetadata(tx, version.id, { tags });
      await this.audit.append(tx, {
        actor: actor.name,
        action: value === null ? 'version.tag_deleted' : 'version.tag_set',
        subject: versionSubject(ref),
        payload: { key, ...changes[key] },
      });
    });
    return this.views.get(ref.model, ref.version);
  }

  private async lock(tx: EntityManager, ref: VersionRef): Promise<ModelVersionEntity> {
    const model = await this.models.findByName(ref.model, tx);
    if (!model) throw new ModelNotFoundError(ref.model);
    const version = await this.versions.find(model.id, ref.version, tx, true);
    if (!version) throw new VersionNotFoundError(ref);
    return version;
  }
}

function assertTagKey(key: string): void {
  if (!TAG_KEY.test(key)) throw new DomainError('invalid', 'invalid_tag_key', `"${key}" is not a tag key: ${TAG_KEY_RULE}`);
}

function assertTagCount(ref: VersionRef, tags: Record<string, string>): void {
  if (Object.keys(tags).length > MAX_TAGS_PER_VERSION) {
    throw new DomainError('invalid', 'too_many_tags', `version ${ref.model}@${ref.version} would carry ${Object.keys(tags).length} tags; the most is ${MAX_TAGS_PER_VERSION}`);
  }
}
