import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** What may arrive while a write is in flight; it goes out next in one writev, so a body of 64 KiB chunks becomes few, large writes. */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Bytes written between the datasyncs that start writeback while the rest of a blob still arrives: the disk
 * works alongside the network instead of after it, the fsync before close finds at most this much left, and
 * no upload, however large, holds more than this in dirty pages.
 */
export const WRITEBACK_INTERVAL_BYTES = 32 * 1024 * 1024;

type Callback = (error?: Error | null) => void;

/**
 * Writes a stream into an open file and makes it durable: 'finish' comes only after an fsync, so a crash
 * right after the rename that publishes the blob loses nothing. Chunks are written as they are, never
 * copied. The file is closed when the stream ends or fails.
 */
export class DurableFileWriter extends Writable {
  private unsynced = 0;
  private writeback?: Promise<void>;
  private writebackError?: Error;

  constructor(private readonly handle: FileHandle) {
    super({ highWaterMark: WRITE_BUFFER_BYTES });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.writeAll([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: Callback): void {
    this.writeAll(
      chunks.map(({ chunk }) => chunk),
      callback,
    );
  }

  override _final(callback: Callback): void {
    this.settleWriteback()
      .then(() => this.handle.sync())
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: Callback): void {
    // A failed upload can end while a datasync still runs; the file closes once it is done.
    Promise.resolve(this.writeback)
      .then(() => this.handle.close())
      .then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
  }

  private writeAll(buffers: Buffer[], callback: Callback): void {
    const expected = buffers.reduce((total, buffer) => total + buffer.length, 0);
    this.handle
      .writev(buffers)
      .then(({ bytesWritten }) => {
        if (bytesWritten !== expected) throw new Error(`short write: ${bytesWritten} of ${expected} bytes reached the file`);
        if (this.writebackError) throw this.writebackError;
        this.unsynced += bytesWritten;
        if (this.unsynced >= WRITEBACK_INTERVAL_BYTES && !this.writeback) this.startWriteback();
      })
      .then(() => callback(), callback);
  }

  /** Not awaited: the next writes go on while the disk catches up. One at a time; a failure fails the next write or the end. */
  private startWriteback(): void {
    this.unsynced = 0;
    this.writeback = this.handle.datasync().then(
      () => {
        this.writeback = undefined;
      },
      (error: Error) => {
        this.writebackError = error;
        this.writeback = undefined;
      },
    );
  }

  private async settleWriteback(): Promise<void> {
    await this.writeback;
    if (this.writebackError) throw this.writebackError;
  }
}
