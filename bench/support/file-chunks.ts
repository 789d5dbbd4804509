import { open } from 'node:fs/promises';

/** How much of a file each read takes: what the gatehouse CLI reads at a time from a file it uploads. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a file in READ_CHUNK_BYTES chunks into two buffers in turn and hands
 * each chunk to `use`; the next read runs while `use` does, and a buffer is
 * read into again only once `use` has settled for the chunk it held. Nothing
 * is allocated per read, so the reader adds no garbage of its own to what a
 * benchmark measures.
 */
export async function forEachChunk(path: string, use: (chunk: Buffer) => Promise<void>): Promise<void> {
  const file = await open(path, 'r');
  try {
    const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK_BYTES), Buffer.allocUnsafeSlow(READ_CHUNK_BYTES)];
    const read = async (buffer: Buffer, position: number) => buffer.subarray(0, (await file.read(buffer, 0, buffer.length, position)).bytesRead);
    let chunk = await read(buffers[0], 0);
    for (let turn = 1, position = chunk.length; chunk.length > 0; turn++) {
      [chunk] = await Promise.all([read(buffers[turn % 2], position), use(chunk)]);
      position += chunk.length;
    }
  } finally {
    await file.close();
  }
}
