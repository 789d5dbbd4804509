import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { failingStream } from './blob-store.contract';
import { ContentAddressedStore, contentKey } from './content-addressed-store';
import { BlobCorruptError, BlobMissingError, DigestMismatchError, FileTooLargeError } from './errors';
import { FilesystemBlobStore } from './filesystem-blob-store';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('content-addressed store (filesystem)', () => {
  let root: string;
  let store: ContentAddressedStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gatehouse-cas-'));
    const blobs = new FilesystemBlobStore(root);
    await blobs.init();
    store = new ContentAddressedStore(blobs);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function keys(dir = root): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true });
    const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? keys(join(dir, e.name)) : [relative(root, join(dir, e.name))])));
    return nested.flat().sort();
  }

  it('stores bytes under their SHA-256, once however often they arrive', async () => {
    const bytes = randomBytes(300_000);
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 200_000), bytes.subarray(200_000)];
    expect(await store.ingest(Readable.from(chunks), { maxBytes: 1e9 })).toEqual({ sha256: sha256(bytes), size: bytes.length });
    expect(await store.ingest(Readable.from([bytes]), { maxBytes: 1e9, expectedSha256: sha256(bytes) })).toEqual({
      sha256: sha256(bytes),
      size: bytes.length,
    });
    expect(await keys()).toEqual([contentKey(sha256(bytes))]);
  });

  it('keeps nothing when the declared digest differs', async () => {
    const bytes = randomBytes(10_000);
    await expect(store.ingest(Readable.from([bytes]), { maxBytes: 1e9, expectedSha256: sha256(Buffer.from('other')) })).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await keys()).toEqual([]);
  });

  it('keeps nothing past the size limit, and accepts exactly the limit', async () => {
    await expect(store.ingest(Readable.from([randomBytes(1001)]), { maxBytes: 1000 })).rejects.toBeInstanceOf(FileTooLargeError);
    expect(await keys()).toEqual([]);
    await expect(store.ingest(Readable.from([randomBytes(1000)]), { maxBytes: 1000 })).resolves.toMatchObject({ size: 1000 });
  });

  it('keeps nothing when the source fails', async () => {
    await expect(store.ingest(failingStream(randomBytes(50_000)), { maxBytes: 1e9 })).rejects.toThrow('connection reset');
    expect(await keys()).toEqual([]);
  });

  it('verifies intact blobs and streams them back exactly', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const stored = await store.ingest(Readable.from([bytes]), { maxBytes: 1e9 });
    await expect(store.assertIntact(stored)).resolves.toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of await store.openVerified(stored)) chunks.push(chunk as Buffer);
    expect(Buffer.compare(Buffer.concat(chunks), bytes)).toBe(0);
  });

  it('detects tampering, and withholds the last chunk of a corrupt stream', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const stored = await store.ingest(Readable.from([bytes]), { maxBytes: 1e9 });
    const forged = Buffer.from(bytes);
    forged[forged.length - 1] ^= 0xff;
    await writeFile(join(root, contentKey(stored.sha256)), forged);

    await expect(store.assertIntact(stored)).rejects.toBeInstanceOf(BlobCorruptError);
    const emitted: Buffer[] = [];
    const streaming = (async () => {
      for await (const chunk of await store.openVerified(stored)) emitted.push(chunk as Buffer);
    })();
    await expect(streaming).rejects.toBeInstanceOf(BlobCorruptError);
    expect(Buffer.concat(emitted).length).toBeLessThan(bytes.length);
  });

  it('reports a missing blob as missing', async () => {
    const bytes = Buffer.from('gone');
    const stored = await store.ingest(Readable.from([bytes]), { maxBytes: 1e9 });
    await rm(join(root, contentKey(stored.sha256)));
    await expect(store.assertIntact(stored)).rejects.toBeInstanceOf(BlobMissingError);
  });
});
