import { ConfigError } from '@gatehouse/config';
import { FileProblemsError } from '@gatehouse/errors';
import { S3CredentialsMissingError, S3UnreachableError } from '@gatehouse/storage';

/** What an operator fixes in the environment or a policy file: its message alone says what to do, a stack would bury it. */
const OPERATOR_ERRORS = [ConfigError, FileProblemsError, S3CredentialsMissingError, S3UnreachableError];

/** Ends a registry process (server, migrate, gc) that could not run: the operator's error as its message, anything else with its stack. */
export function exitWithError(error: unknown): never {
  const known = OPERATOR_ERRORS.some((kind) => error instanceof kind);
  process.stderr.write(`${known ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
}
