import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@gatehouse/auth';
import { AuditLog } from '@gatehouse/audit';
import { TransactionRunner } from '@gatehouse/database';
import { DomainError } from '@gatehouse/errors';
import { ALIAS_NAME, ALIAS_NAME_RULE, AliasPolicy, RESERVED_ALIASES } from '../alias-policy';
import type { AliasList, AliasResponse } from '../dto/alias.dto';
import { AliasNotFoundError, AliasRoleRequiredError, AliasTargetNotCommittedError, ModelNotFoundError, VersionNotFoundError } from '../errors';
import { AliasRepository, type AliasRow } from '../repositories/alias.repository';
import { ModelRepository } from '../repositories/model.repository';
import { VersionRepository } from '../repositories/version.repository';

export const ALIAS_POLICY = Symbol('ALIAS_POLICY');

/**
 * Aliases: free named pointers to versions (`@champion`), moved atomically
 * and audited, protected by the policy where it says so. They are labels:
 * nothing about gates or serving reads them.
 */
@Injectable()
export class AliasService {
  constructor(
    private readonly models: ModelRepository,
    private readonly versions: VersionRepository,
    private readonly aliases: AliasRepository,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    @Inject(ALIAS_POLICY) private readonly policy: AliasPolicy,
  ) {}

  /** Points `alias` at `version`, audited with where it pointed before; pointing it where it already points changes nothing. */
  async set(actor: Principal, modelName: string, alias: string, versionName: string): Promise<AliasResponse> {
    this.assertMayMove(actor, alias);
    const row = await this.transactions.run(async (tx) => {
      const model = await this.models.findByName(modelName, tx);
      if (!model) throw new ModelNotFoundError(modelName);
      const version = await this.versions.find(model.id, versionName, tx);
      if (!version) throw new VersionNotFoundError({ model: modelName, version: versionName });
      if (version.status === 'pending_upload') throw new AliasTargetNotCommittedError(modelName, alias, versionName);
      const previous = await this.aliases.lock(tx, model.id, alias);
      if (previous?.version === versionName) return previous;
      const moved = await this.aliases.set(tx, model.id, alias, version, actor.name);
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'alias.set',
        subject: `model:${modelName}`,
        payload: { alias, from: previous?.version ?? null, to: versionName },
      });
      return moved;
    });
    return this.response(modelName, row);
  }

  /** Removes `alias`; a 404 when the model has none by that name. */
  async remove(actor: Principal, modelName: string, alias: string): Promise<AliasResponse> {
    this.assertMayMove(actor, alias);
    const row = await this.transactions.run(async (tx) => {
      const model = await this.models.findByName(modelName, tx);
      if (!model) throw new ModelNotFoundError(modelName);
      const current = await this.aliases.lock(tx, model.id, alias);
      if (!current) throw new AliasNotFoundError(modelName, alias);
      await this.aliases.remove(tx, model.id, alias);
      await this.audit.append(tx, { actor: actor.name, action: 'alias.deleted', subject: `model:${modelName}`, payload: { alias, from: current.version } });
      return current;
    });
    return this.response(modelName, row);
  }

  async list(modelName: string): Promise<AliasList> {
    const model = await this.models.findByName(modelName);
    if (!model) throw new ModelNotFoundError(modelName);
    return { model: modelName, items: (await this.aliases.list(model.id)).map((row) => this.response(modelName, row)) };
  }

  async get(modelName: string, alias: string): Promise<AliasResponse> {
    const model = await this.models.findByName(modelName);
    if (!model) throw new ModelNotFoundError(modelName);
    const found = await this.aliases.find(model.id, alias);
    if (!found) throw new AliasNotFoundError(modelName, alias);
    return this.response(modelName, found);
  }

  private assertMayMove(actor: Principal, alias: string): void {
    assertAliasName(alias);
    if (!this.policy.allows(actor.roles, alias)) throw new AliasRoleRequiredError(alias, this.policy.rolesFor(alias));
  }

  private response(model: string, row: AliasRow): AliasResponse {
    return { model, alias: row.alias, version: row.version, setBy: row.setBy, setAt: row.setAt.toISOString(), protected: this.policy.rolesFor(row.alias).protected };
  }
}

function assertAliasName(alias: string): void {
  if (!ALIAS_NAME.test(alias)) throw new DomainError('invalid', 'invalid_alias', `"${alias}" is not an alias: ${ALIAS_NAME_RULE}`);
  if ((RESERVED_ALIASES as readonly string[]).includes(alias)) {
    throw new DomainError(
      'invalid',
      'alias_reserved',
      `"${alias}" is reserved (${RESERVED_ALIASES.join(', ')}): stages are moved by promotion, and "latest" means the newest version`,
    );
  }
}
