import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PREFIX = 'gh_';

export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
