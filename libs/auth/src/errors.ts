import { DomainError } from '@gatehouse/errors';
import type { Role } from './roles';

export class MissingTokenError extends DomainError {
  constructor() {
    super('unauthenticated', 'token_missing', 'an API token is required: send "Authorization: Bearer <token>"');
  }
}

export class InvalidTokenError extends DomainError {
  constructor() {
    super('unauthenticated', 'token_invalid', 'the API token is unknown or revoked');
  }
}

export class RoleRequiredError extends DomainError {
  constructor(allowed: readonly Role[]) {
    // Admin always passes, and a route may name it too (@Allow('admin')): list each role once.
    const roles = [...new Set<Role>(['admin', ...allowed])];
    super('forbidden', 'role_required', `this action needs one of the roles: ${roles.join(', ')}`, { allowed: roles });
  }
}

export class TokenNameTakenError extends DomainError {
  constructor(name: string) {
    super('conflict', 'token_name_taken', `a token named "${name}" already exists`);
  }
}

export class TokenNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'token_not_found', `token ${id} does not exist`);
  }
}
