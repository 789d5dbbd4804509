import { readFileSync } from 'node:fs';
import { ROLES, type Role } from '@gatehouse/auth';
import { FileProblemsError } from '@gatehouse/errors';

/** An alias starts with a letter, so it never reads as a semantic version: `GET …/versions/{alias}` is unambiguous. */
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
export const ALIAS_NAME_RULE = 'an alias is 1-64 lowercase letters, digits, "_" or "-", starting with a letter';
/** Names that already mean something to a registry user: MLflow's `latest` and the stages. */
export const RESERVED_ALIASES = ['latest', 'none', 'staging', 'canary', 'production', 'archived'] as const;
/** Who may move an alias the policy does not protect. */
export const DEFAULT_ALIAS_SETTERS: readonly Role[] = ['ml_engineer', 'data_scientist'];

export class AliasPolicyError extends FileProblemsError {
  constructor(source: string, problems: string[]) {
    super('alias policy in', source, problems);
  }
}

/**
 * The `aliases` section of the promotion policy (config/promotion.json):
 * which aliases are protected and the roles that may move them, e.g.
 * `{"protected": {"champion": {"roles": ["approver"]}}}`, so that "can set
 * aliases but not @champion" can be said. Any other alias may be moved by
 * `setters` (default ml_engineer and data_scientist). Admin always may move
 * an unprotected alias, and a protected one only if its roles list admin.
 */
export class AliasPolicy {
  private constructor(
    private readonly setters: readonly Role[],
    private readonly protectedAliases: ReadonlyMap<string, readonly Role[]>,
  ) {}

  static load(path: string): AliasPolicy {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new AliasPolicyError(path, [`cannot read it as JSON: ${(error as Error).message}`]);
    }
    return AliasPolicy.parse(isObject(json) ? json.aliases : undefined, path);
  }

  /** Every problem at once. An absent section protects nothing. */
  static parse(section: unknown, source = 'promotion policy'): AliasPolicy {
    if (section === undefined) return new AliasPolicy(DEFAULT_ALIAS_SETTERS, new Map());
    const problems: string[] = [];
    if (!isObject(section)) throw new AliasPolicyError(source, ['"aliases" must be an object with "protected" (and optionally "setters")']);
    for (const key of Object.keys(section)) if (!['protected', 'setters', '$comment'].includes(key)) problems.push(`aliases: unknown key "${key}"`);
    const setters = section.setters === undefined ? DEFAULT_ALIAS_SETTERS : roleList(section.setters, 'aliases.setters', problems);
    const protectedAliases = new Map<string, readonly Role[]>();
    const rules = section.protected ?? {};
    if (!isObject(rules)) problems.push('aliases.protected must be an object keyed by alias, e.g. {"champion": {"roles": ["approver"]}}');
    for (const [alias, rule] of Object.entries(isObject(rules) ? rules : {})) {
      const at = `aliases.protected.${alias}`;
      if (!ALIAS_NAME.test(alias)) problems.push(`${at}: ${ALIAS_NAME_RULE}`);
      if (!isObject(rule)) {
        problems.push(`${at} must be an object with "roles"`);
        continue;
      }
      for (const key of Object.keys(rule)) if (key !== 'roles' && key !== '$comment') problems.push(`${at}: unknown key "${key}"`);
      protectedAliases.set(alias, roleList(rule.roles, `${at}.roles`, problems));
    }
    if (problems.length > 0) throw new AliasPolicyError(source, problems);
    return new AliasPolicy(setters, protectedAliases);
  }

  /** The roles that may move `alias`, and whether the policy protects it. */
  rolesFor(alias: string): { roles: readonly Role[]; protected: boolean } {
    const roles = this.protectedAliases.get(alias);
    return roles ? { roles, protected: true } : { roles: this.setters, protected: false };
  }

  /** Whether a token with `roles` may move `alias`: admin counts for a protected alias only if the policy lists it. */
  allows(roles: readonly Role[], alias: string): boolean {
    const rule = this.rolesFor(alias);
    if (!rule.protected && roles.includes('admin')) return true;
    return roles.some((role) => rule.roles.includes(role));
  }
}

function roleList(value: unknown, at: string, problems: string[]): Role[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${at} must be a non-empty list of roles (${ROLES.join(', ')})`);
    return [];
  }
  for (const role of value) if (!(ROLES as readonly unknown[]).includes(role)) problems.push(`${at}: unknown role ${JSON.stringify(role)} (expected ${ROLES.join(', ')})`);
  return [...new Set(value as Role[])];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
