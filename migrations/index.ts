import { CreateApiTokens1764000000000 } from './1764000000000-CreateApiTokens';

/** Every migration, oldest first. Forward-only in production; `down` exists for development. */
export const migrations = [CreateApiTokens1764000000000];
