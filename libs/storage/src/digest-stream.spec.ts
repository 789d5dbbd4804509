import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteLimitExceeded, DigestStream } from './digest-stream';

/** Runs `chunks` through a DigestStream into a sink, returning the stream and the bytes it passed on. */
async function digestOf(chunks: Buffer[], limit?: number): Promise<{ digest: DigestStream; passed: Buffer }> {
  const digest = new DigestStream(limit);
  const passed: Buffer[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      passed.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(chunks), digest, sink);
  return { digest, passed: Buffer.concat(passed) };
}

function split(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

describe('DigestStream', () => {
  const bytes = randomBytes(250_000);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  it.each([1, 7, 4096, 65_537, 250_000])('hashes and passes on the bytes unchanged in chunks of %i', async (size) => {
    const { digest, passed } = await digestOf(split(bytes, size));
    expect(digest.sha256).toBe(sha256);
    expect(digest.size).toBe(bytes.length);
    expect(passed.equals(bytes)).toBe(true);
  });

  it('hashes an empty stream', async () => {
    const { digest } = await digestOf([]);
    expect(digest.sha256).toBe(createHash('sha256').digest('hex'));
    expect(digest.size).toBe(0);
  });

  it('accepts a stream of exactly the limit', async () => {
    const { digest } = await digestOf(split(bytes, 4096), bytes.length);
    expect(digest.sha256).toBe(sha256);
  });

  it.each([
    ['in its own chunk', [bytes, Buffer.from([0])]],
    ['inside a chunk', split(Buffer.concat([bytes, Buffer.from([0])]), 4096)],
  ])('fails one byte past the limit, %s', async (_where, chunks) => {
    const failure = digestOf(chunks, bytes.length);
    await expect(failure).rejects.toBeInstanceOf(ByteLimitExceeded);
    await expect(failure).rejects.toMatchObject({ limit: bytes.length });
  });

  it('passes on no byte past the limit', async () => {
    const digest = new DigestStream(1000);
    const passed: Buffer[] = [];
    digest.on('data', (chunk: Buffer) => passed.push(chunk));
    // The chunk that crosses the limit (bytes 1000 to 1049) must be held back whole.
    const failure = pipeline(Readable.from(split(randomBytes(1050), 100)), digest);
    await expect(failure).rejects.toBeInstanceOf(ByteLimitExceeded);
    expect(Buffer.concat(passed).length).toBeLessThanOrEqual(1000);
  });

  it('refuses to give a digest before the end', () => {
    expect(() => new DigestStream().sha256).toThrow('before the stream ended');
  });
});
