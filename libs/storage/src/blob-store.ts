import type { Readable } from 'node:stream';

/**
 * Where artifact bytes live. Keys are opaque slash-separated names chosen by
 * {@link ContentAddressedStore}; adapters only move bytes, they never buffer
 * a whole blob.
 */
export interface BlobStore {
  /** A short name for logs and /health: "filesystem" or "s3". */
  readonly kind: string;
  /** Prepares the backend (creates the directory or bucket) and proves it is reachable; `onWaiting` hears when that takes a while. */
  init(onWaiting?: (message: string) => void): Promise<void>;
  /** Streams `body` to `key`, replacing what was there. Rejects if the body errors; nothing is left at `key` then. */
  put(key: string, body: Readable): Promise<void>;
  /** Opens the blob for reading; rejects with {@link BlobNotFoundError} if absent. */
  get(key: string): Promise<Readable>;
  /** The blob's size, or undefined if absent. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Renames `from` to `to`, replacing `to`. */
  move(from: string, to: string): Promise<void>;
  /** Removes the blob; absent is fine. */
  delete(key: string): Promise<void>;
  /** Every blob whose key starts with `prefix` (a key directory such as `tmp/`), with when it was last written. */
  list(prefix: string): AsyncIterable<ListedBlob>;
  /**
   * Abandons the unfinished uploads under `prefix` that nothing has written to
   * since `before`: S3 multipart uploads, which hold parts but no key yet. The
   * filesystem has none: a file being written is a blob {@link list} shows.
   * Returns how many, or undefined when the backend cannot list them.
   */
  abortUploadsIdleSince(prefix: string, before: Date): Promise<number | undefined>;
  /** A cheap reachability probe for /health. */
  health(): Promise<{ ok: boolean; error?: string }>;
}

export interface ListedBlob {
  key: string;
  size: number;
  lastModified: Date;
}

/** Injection token for the configured {@link BlobStore}. */
export const BLOB_STORE = Symbol('BLOB_STORE');

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob ${key} does not exist`);
    this.name = 'BlobNotFoundError';
  }
}
