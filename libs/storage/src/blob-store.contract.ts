import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobNotFoundError, type BlobStore } from './blob-store';

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that yields `bytes`, then fails: a client that drops mid-upload. */
export function failingStream(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield bytes;
      throw new Error('connection reset by peer');
    })(),
  );
}

/** What every BlobStore adapter must do, run against each real backend. */
export function describeBlobStore(name: string, open: () => Promise<{ store: BlobStore; close(): Promise<void> }>): void {
  describe(`${name} blob store`, () => {
    let store: BlobStore;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ store, close } = await open());
      await store.init();
    });
    afterAll(() => close?.());

    it('round-trips bytes and reports their size', async () => {
      const bytes = randomBytes(100_000);
      await store.put('t/round-trip', Readable.from([bytes]));
      expect(Buffer.compare(await readAll(await store.get('t/round-trip')), bytes)).toBe(0);
      expect(await store.stat('t/round-trip')).toEqual({ size: bytes.length });
    });

    it('streams a 20 MiB body in many chunks (multipart on S3)', async () => {
      const chunk = randomBytes(1024 * 1024);
      const chunks = Array.from({ length: 20 }, (_, i) => Buffer.concat([Buffer.from([i]), chunk.subarray(1)]));
      await store.put('t/large', Readable.from(chunks));
      const back = await readAll(await store.get('t/large'));
      expect(back.length).toBe(20 * 1024 * 1024);
      expect(Buffer.compare(back, Buffer.concat(chunks))).toBe(0);
    });

    it('answers absent keys: stat undefined, get BlobNotFoundError, delete fine', async () => {
      expect(await store.stat('t/absent')).toBeUndefined();
      await expect(store.get('t/absent')).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.delete('t/absent')).resolves.toBeUndefined();
    });

    it('moves a blob, replacing the target and removing the source', async () => {
      await store.put('t/source', Readable.from([Buffer.from('new')]));
      await store.put('t/target', Readable.from([Buffer.from('old bytes')]));
      await store.move('t/source', 't/target');
      expect((await readAll(await store.get('t/target'))).toString()).toBe('new');
      expect(await store.stat('t/source')).toBeUndefined();
    });

    it('leaves nothing at the key when the body fails midway', async () => {
      await expect(store.put('t/broken', failingStream(randomBytes(9 * 1024 * 1024)))).rejects.toThrow('connection reset');
      expect(await store.stat('t/broken')).toBeUndefined();
    });

    it('initialises idempotently and reports health', async () => {
      await store.init();
      expect(await store.health()).toEqual({ ok: true });
    });
  });
}
