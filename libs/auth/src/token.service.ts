import { Inject, Injectable, Logger } from '@nestjs/common';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { AuditLog } from '@gatehouse/audit';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { ReadCache, TransactionRunner } from '@gatehouse/database';
import type { EntityManager } from 'typeorm';
import type { ApiTokenEntity } from './api-token.entity';
import { ApiTokenRepository } from './api-token.repository';
import type { CreateTokenDto, CreatedTokenResponse, TokenResponse } from './dto/token.dto';
import { InvalidTokenError, TokenNotFoundError } from './errors';
import type { Principal } from './roles';
import { generateTokenSecret, hashTokenSecret } from './token-secret';

const BOOTSTRAP_ACTOR = 'system';
const BOOTSTRAP_TOKEN_NAME = 'admin';
const TOKEN_USE_RESOLUTION_MS = 60_000;
/** Every request authenticates: valid tokens are cached this long. A revocation on this replica applies at once; on another replica within this time. */
const TOKEN_CACHE_MS = 1000;
const TOKEN_CACHE_ENTRIES = 10_000;

@Injectable()
export class TokenService {
  private readonly logger = new Logger('Auth');
  private readonly lastRecordedUse = new Map<string, number>();
  private readonly principals = new ReadCache<string, Principal>(TOKEN_CACHE_MS, TOKEN_CACHE_ENTRIES);

  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async authenticate(secret: string): Promise<Principal> {
    const hash = hashTokenSecret(secret);
    const principal = await this.principals.get(hash, async () => {
      const token = await this.tokens.findActiveByHash(hash);
      if (!token) throw new InvalidTokenError();
      return { tokenId: token.id, name: token.name, roles: token.roles };
    });
    this.recordUse(principal.tokenId);
    return principal;
  }

  /** The principal of a token authenticated within the cache's lifetime, without waiting; undefined if it must be looked up. */
  cachedPrincipal(secret: string): Principal | undefined {
    const principal = this.principals.peek(hashTokenSecret(secret))?.value;
    if (principal) this.recordUse(principal.tokenId);
    return principal;
  }

  /** last_used_at is kept to the minute; skipping the write in between keeps reads free of writes. */
  private recordUse(tokenId: string): void {
    const now = Date.now();
    if (now - (this.lastRecordedUse.get(tokenId) ?? 0) < TOKEN_USE_RESOLUTION_MS) return;
    this.lastRecordedUse.set(tokenId, now);
    this.tokens.touch(tokenId).catch((error: Error) => this.logger.warn(`could not record token use: ${error.message}`));
  }

  async mint(actor: Principal, request: CreateTokenDto): Promise<CreatedTokenResponse> {
    const secret = generateTokenSecret();
    const token = await this.transactions.run(async (tx) => {
      const created = await this.tokens.insert(tx, {
        name: request.name,
        roles: request.roles,
        tokenHash: hashTokenSecret(secret),
        createdBy: actor.name,
      });
      await this.audit.append(tx, { actor: actor.name, action: 'token.minted', subject: `token:${created.name}`, payload: { roles: created.roles } });
      return created;
    });
    return { ...this.map(token), token: secret };
  }

  async list(): Promise<TokenResponse[]> {
    return (await this.tokens.list()).map((token) => this.map(token));
  }

  async revoke(actor: Principal, id: string): Promise<TokenResponse> {
    return this.transactions.run(async (tx) => {
      const token = await this.tokens.findById(tx, id);
      if (!token) throw new TokenNotFoundError(id);
      await this.tokens.revoke(tx, id);
      this.transactions.afterCommit(tx, () => this.principals.invalidate());
      if (!token.revokedAt) await this.audit.append(tx, { actor: actor.name, action: 'token.revoked', subject: `token:${token.name}` });
      return this.map((await this.tokens.findById(tx, id))!);
    });
  }

  /**
   * Makes sure an admin can log in: GATEHOUSE_ADMIN_TOKEN is registered if
   * set; otherwise, when no admin token exists yet, one is minted, printed
   * once and written to $DATA_DIR/admin-token (mode 0600).
   */
  async bootstrapAdmin(): Promise<void> {
    const configured = this.config.adminToken;
    const minted = await this.transactions.run(async (tx) => {
      await this.tokens.lockBootstrap(tx);
      if (configured) {
        if (!(await this.tokens.findByHash(tx, hashTokenSecret(configured)))) await this.insertBootstrapAdmin(tx, configured);
        return undefined;
      }
      if (await this.tokens.hasActiveAdmin(tx)) return undefined;
      const secret = generateTokenSecret();
      await this.insertBootstrapAdmin(tx, secret);
      return secret;
    });
    if (!minted) return;
    const file = join(this.config.dataDir, 'admin-token');
    await mkdir(this.config.dataDir, { recursive: true });
    await writeFile(file, `${minted}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    // On stdout, where no log line goes: this is the only time the secret is shown.
    process.stdout.write(adminTokenBanner(minted, file));
  }

  private async insertBootstrapAdmin(tx: EntityManager, secret: string): Promise<void> {
    const token = await this.tokens.insert(tx, {
      name: await this.freeBootstrapName(tx),
      roles: ['admin'],
      tokenHash: hashTokenSecret(secret),
      createdBy: BOOTSTRAP_ACTOR,
    });
    await this.audit.append(tx, {
      actor: BOOTSTRAP_ACTOR,
      action: 'token.minted',
      subject: `token:${token.name}`,
      payload: { roles: token.roles, bootstrap: true },
    });
  }

  private async freeBootstrapName(tx: EntityManager): Promise<string> {
    const taken = new Set(await this.tokens.names(tx));
    let name = BOOTSTRAP_TOKEN_NAME;
    for (let n = 2; taken.has(name); n++) name = `${BOOTSTRAP_TOKEN_NAME}-${n}`;
    return name;
  }

  private map(token: ApiTokenEntity): TokenResponse {
    return {
      id: token.id,
      name: token.name,
      roles: token.roles,
      createdBy: token.createdBy,
      createdAt: token.createdAt.toISOString(),
      revokedAt: token.revokedAt?.toISOString() ?? null,
      lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    };
  }
}

function adminTokenBanner(secret: string, file: string): string {
  const fromHere = relative(process.cwd(), file);
  const shown = fromHere.startsWith('..') || isAbsolute(fromHere) ? file : `./${fromHere}`;
  const rule = '='.repeat(72);
  return `\n${rule}\n  Gatehouse admin token, shown this once (saved to ${shown}, mode 0600):\n\n    ${secret}\n${rule}\n\n`;
}
