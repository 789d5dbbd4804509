import type { FileHandle } from 'node:fs/promises';

/**
 * Random-access bytes: a file on disk, a window of one (a stored zip entry),
 * or a buffer (an inflated one). Scanners read only what they need, so a
 * multi-gigabyte checkpoint is never held in memory whole.
 */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes from `offset`; throws if the range is not inside the source. */
  read(offset: number, length: number): Promise<Buffer>;
}

class ByteRangeError extends Error {}

function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new ByteRangeError(`bytes [${offset}, +${length}) lie outside the ${size} available`);
  }
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buffer.length,
    async read(offset, length) {
      checkRange(buffer.length, offset, length);
      return buffer.subarray(offset, offset + length);
    },
  };
}

/** An open file; the caller owns the handle and closes it. */
export function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      checkRange(size, offset, length);
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new ByteRangeError(`the file ended at byte ${offset + filled}, before the ${size} it had when opened`);
        filled += bytesRead;
      }
      return buffer;
    },
  };
}

/** `length` bytes of `source` from `start`, addressed from 0. */
export function sliceSource(source: ByteSource, start: number, length: number): ByteSource {
  checkRange(source.size, start, length);
  return {
    size: length,
    read(offset, count) {
      checkRange(length, offset, count);
      return source.read(start + offset, count);
    },
  };
}
