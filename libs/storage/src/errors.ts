import { DomainError, SizeLimitError } from '@gatehouse/errors';

export class FileTooLargeError extends SizeLimitError {
  constructor(maxBytes: number, declaredBytes?: number) {
    super('file_too_large', { what: 'the file', setting: 'MAX_FILE_SIZE', maxBytes, advice: 'split the artifact into smaller files' }, declaredBytes);
  }
}

export class DigestMismatchError extends DomainError {
  constructor(expected: string, actual: string) {
    super('invalid', 'digest_mismatch', `content SHA-256 is ${actual}, but the client declared ${expected}`, {
      expected,
      actual,
    });
  }
}

/** Stored bytes no longer hash to their address: never serve them. */
export class BlobCorruptError extends DomainError {
  constructor(sha256: string, actual: { sha256: string; size: number }) {
    super('integrity', 'blob_corrupt', `stored blob sha256:${sha256} is corrupt: its bytes hash to ${actual.sha256}`, {
      expected: sha256,
      actualSha256: actual.sha256,
      actualSize: actual.size,
    });
  }
}

export class BlobMissingError extends DomainError {
  constructor(sha256: string) {
    super('integrity', 'blob_missing', `stored blob sha256:${sha256} is missing from the blob store`, { sha256 });
  }
}

/** The backend itself failed (unreachable S3, full disk): a 503, and nothing was kept. */
export class BlobStoreUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super('unavailable', 'blob_store_unavailable', `the blob store is unavailable: ${(cause as Error)?.message || (cause as Error)?.name || String(cause)}`);
  }
}

/** S3 without credentials: the SDK's own CredentialsProviderError names none of the variables that would fix it. */
export class S3CredentialsMissingError extends Error {
  constructor(bucket: string) {
    super(
      `S3_BUCKET=${bucket} needs S3 credentials and none were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ` +
        '(or AWS_PROFILE, or run where an instance or container role provides them)',
    );
    this.name = 'S3CredentialsMissingError';
  }
}

/** The endpoint still refused connections when start-up stopped waiting for it. */
export class S3UnreachableError extends Error {
  constructor(endpoint: string, waitedMs: number, cause: unknown) {
    super(`S3 at ${endpoint} refused connections for ${waitedMs / 1000} s (${(cause as Error).message}): start it, or point S3_ENDPOINT at one that runs`);
    this.name = 'S3UnreachableError';
  }
}
