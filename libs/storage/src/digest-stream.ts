import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export class ByteLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`stream exceeds ${limit} bytes`);
  }
}

/** Passes bytes through unchanged while computing their SHA-256 and size, failing past `limit` bytes. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digestHex?: string;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new ByteLimitExceeded(this.limit));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digestHex = this.hash.digest('hex');
    callback();
  }

  /** Available once the stream has ended. */
  get sha256(): string {
    if (this.digestHex === undefined) throw new Error('digest read before the stream ended');
    return this.digestHex;
  }

  get size(): number {
    return this.bytes;
  }
}
