import { createHash, randomUUID } from 'node:crypto';
import { finished, pipeline, Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@gatehouse/errors';
import { MetricsService } from '@gatehouse/metrics';
import { BLOB_STORE, BlobNotFoundError, type BlobStore } from './blob-store';
import { ByteLimitExceeded, DigestStream } from './digest-stream';
import { BlobCorruptError, BlobMissingError, BlobStoreUnavailableError, DigestMismatchError, FileTooLargeError } from './errors';

/** Who reads a blob: a client's download, counted in the metrics, or the registry itself (a gate laying out a version). */
export type BlobReader = 'download' | 'internal';

export interface StoredContent {
  sha256: string;
  size: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const TEMPORARY_PREFIX = 'tmp/';
const CONTENT_PREFIX = 'sha256/';

/**
 * How long a temporary upload may go unwritten before it counts as abandoned
 * by a crashed process. Any replica may clean, so this must outlast what a
 * live upload can go without writing: far longer than the HTTP idle timeout
 * (an hour at most, by config), and than a live upload takes to fill one
 * 8 MiB S3 part at any rate a real upload runs (a day is ~97 B/s).
 */
export const STALE_TEMPORARY_AFTER_MS = 24 * 60 * 60 * 1000;

/** What {@link ContentAddressedStore.removeStaleTemporaries} removed. */
export interface TemporaryCleanup {
  removedKeys: string[];
  /** Unfinished multipart uploads aborted; undefined when the backend cannot list them. */
  abortedUploads: number | undefined;
}

/** The blob key of some content: `sha256/ab/abcdef…`. */
export function contentKey(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256 hex digest: ${sha256}`);
  return `${CONTENT_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
}

/**
 * Content addressing over a {@link BlobStore}: bytes are streamed to a
 * temporary key while hashed, then published under their digest, so a key
 * always names exactly its bytes and identical content is stored once.
 */
@Injectable()
export class ContentAddressedStore {
  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Streams `source` into the store. Fails with {@link FileTooLargeError} past
   * `maxBytes` and {@link DigestMismatchError} if `expectedSha256` differs;
   * on any failure nothing is kept. `beforePublish` runs once the digest is
   * known and before the bytes are published under it or found there already:
   * the catalog leases the blob there, so that the collector cannot take it
   * before the file or dataset naming it is recorded.
   */
  async ingest(source: Readable, options: { maxBytes: number; expectedSha256?: string; beforePublish?: (stored: StoredContent) => Promise<void> }): Promise<StoredContent> {
    const temporaryKey = `${TEMPORARY_PREFIX}${randomUUID()}`;
    const digest = new DigestStream(options.maxBytes);
    let sourceFailed = false;
    // finished(), not an 'error' listener: a source that closes without ending must fail the digest too, or pipe() leaves it waiting.
    const stopWatchingSource = finished(source, { writable: false }, (error) => {
      if (!error) return;
      sourceFailed = true;
      digest.destroy(error);
    });
    // Unpipe rather than destroy the source on failure: for HTTP that would kill the socket before the error response.
    digest.once('error', () => source.unpipe(digest));
    source.pipe(digest);
    try {
      await this.blobs.put(temporaryKey, digest);
    } catch (error) {
      await this.blobs.delete(temporaryKey).catch(() => undefined);
      if (error instanceof ByteLimitExceeded) throw new FileTooLargeError(options.maxBytes);
      throw sourceFailed ? error : new BlobStoreUnavailableError(error);
    } finally {
      stopWatchingSource();
    }

    const stored = { sha256: digest.sha256, size: digest.size };
    try {
      if (options.expectedSha256 && options.expectedSha256 !== stored.sha256) {
        throw new DigestMismatchError(options.expectedSha256, stored.sha256);
      }
      await options.beforePublish?.(stored);
      await this.backend(async () => {
        const key = contentKey(stored.sha256);
        const existing = await this.blobs.stat(key);
        if (existing?.size === stored.size) await this.blobs.delete(temporaryKey);
        else await this.blobs.move(temporaryKey, key);
      });
      this.metrics.blobBytesStored(stored.size);
      return stored;
    } catch (error) {
      await this.blobs.delete(temporaryKey).catch(() => undefined);
      throw error;
    }
  }

  /** Every blob stored under its digest, with its size and when it was written. */
  async *listStored(): AsyncIterable<StoredContent & { lastModified: Date }> {
    for await (const blob of this.blobs.list(CONTENT_PREFIX)) {
      const sha256 = blob.key.split('/').pop() ?? '';
      if (SHA256_HEX.test(sha256) && blob.key === contentKey(sha256)) yield { sha256, size: blob.size, lastModified: blob.lastModified };
    }
  }

  /** Deletes the blob stored under `sha256`; the collector's to call, once nothing references it. */
  async deleteStored(sha256: string): Promise<void> {
    await this.backend(() => this.blobs.delete(contentKey(sha256)));
  }

  /**
   * Removes what crashed uploads left behind: temporary blobs, and unfinished
   * multipart uploads, that nothing has written to for `graceMs`. Safe while
   * other processes upload into the same store: a live upload keeps writing.
   * Run at start, and by the blob collector.
   */
  async removeStaleTemporaries(graceMs = STALE_TEMPORARY_AFTER_MS): Promise<TemporaryCleanup> {
    const before = new Date(Date.now() - graceMs);
    const removedKeys: string[] = [];
    for await (const blob of this.blobs.list(TEMPORARY_PREFIX)) {
      if (blob.lastModified >= before) continue;
      await this.blobs.delete(blob.key);
      removedKeys.push(blob.key);
    }
    return { removedKeys, abortedUploads: await this.blobs.abortUploadsIdleSince(TEMPORARY_PREFIX, before) };
  }

  /** Reads the whole blob and hashes it; throws if it is missing or its bytes no longer match. */
  async assertIntact(content: StoredContent): Promise<void> {
    const digest = new DigestStream();
    const source = await this.open(content.sha256);
    const discard = new Writable({ write: (_chunk, _encoding, next) => next() });
    // pipeline, not pipe: a read error must fail the check rather than leave the hash waiting forever.
    await this.backend(() => pipelineAsync(source, digest, discard));
    if (digest.sha256 !== content.sha256 || digest.size !== content.size) {
      throw new BlobCorruptError(content.sha256, { sha256: digest.sha256, size: digest.size });
    }
  }

  /**
   * Opens the blob for streaming out, hashing on the way: if the bytes do not
   * match their address the stream errors with {@link BlobCorruptError}
   * before its last chunk is released. A download counts the bytes it releases.
   */
  async openVerified(content: StoredContent, reader: BlobReader = 'download'): Promise<Readable> {
    const source = await this.open(content.sha256);
    const released = reader === 'download' ? (bytes: number) => this.metrics.blobBytesDownloaded(bytes) : undefined;
    // pipeline, not pipe: a reader that stops early must release the source (an S3 socket, a file handle).
    // Errors reach the reader through the verifier, so the callback has nothing left to do.
    return pipeline(source, new VerifyingStream(content, released), () => undefined);
  }

  private async open(sha256: string): Promise<Readable> {
    try {
      return await this.backend(() => this.blobs.get(contentKey(sha256)));
    } catch (error) {
      if (error instanceof BlobNotFoundError) throw new BlobMissingError(sha256);
      throw error;
    }
  }

  /** Runs backend calls, reporting the backend's own failures as unavailability. */
  private async backend<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof BlobNotFoundError || error instanceof DomainError) throw error;
      throw new BlobStoreUnavailableError(error);
    }
  }
}

/** Holds back one chunk so that a mismatch is reported before the final byte goes out. */
class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;
  private pending?: Buffer;

  constructor(
    private readonly expected: StoredContent,
    private readonly released?: (bytes: number) => void,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    const previous = this.pending;
    this.pending = chunk;
    if (previous) this.released?.(previous.length);
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const actual = { sha256: this.hash.digest('hex'), size: this.size };
    if (actual.sha256 !== this.expected.sha256 || actual.size !== this.expected.size) {
      callback(new BlobCorruptError(this.expected.sha256, actual));
      return;
    }
    if (this.pending) this.released?.(this.pending.length);
    callback(null, this.pending);
  }
}
