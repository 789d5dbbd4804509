import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ByteLimitExceeded, DigestStream } from './digest-stream';

async function digestOf(chunks: Buffer[], limit?: number): Promise<DigestStream> {
  const digest = new DigestStream(limit);
  await pipeline(Readable.from(chunks), digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return digest;
}

describe('DigestStream', () => {
  const bytes = randomBytes(250_000);
  const expected = createHash('sha256').update(bytes).digest('hex');

  it.each([1, 7, 4096, 250_000])('hashes the same whatever the chunk size (%i)', async (size) => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    const digest = await digestOf(chunks);
    expect(digest.sha256).toBe(expected);
    expect(digest.size).toBe(bytes.length);
  });

  it('accepts exactly the limit and fails one byte past it', async () => {
    await expect(digestOf([bytes], bytes.length)).resolves.toBeDefined();
    await expect(digestOf([bytes, Buffer.from([0])], bytes.length)).rejects.toBeInstanceOf(ByteLimitExceeded);
  });

  it('refuses to give a digest before the end', () => {
    expect(() => new DigestStream().sha256).toThrow('before the stream ended');
  });
});
