import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MetricsService } from '@gatehouse/metrics';
import { sampleValue, samplesOf } from '../../../test/support/prometheus';
import { type BlobStoreFactory, type BlobStoreFixture, failingStream, filesystemFixture, readAll, s3Fixture, unevenChunks } from './blob-store.contract';
import { ContentAddressedStore, contentKey, type StoredContent } from './content-addressed-store';
import { BlobCorruptError, BlobMissingError, BlobStoreUnavailableError, DigestMismatchError, FileTooLargeError } from './errors';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Everything a consumer received before the stream ended or failed, and how it ended. */
async function drain(stream: Readable): Promise<{ received: Buffer; error?: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { received: Buffer.concat(chunks) };
  } catch (error) {
    return { received: Buffer.concat(chunks), error };
  }
}

describe.each<[string, BlobStoreFactory]>([
  ['filesystem', filesystemFixture],
  ['S3 (s3rver)', s3Fixture],
])('content-addressed store on %s', (_name, open) => {
  let backend: BlobStoreFixture;
  let store: ContentAddressedStore;
  let metrics: MetricsService;

  beforeEach(async () => {
    backend = await open();
    await backend.store.init();
    metrics = new MetricsService();
    store = new ContentAddressedStore(backend.store, metrics);
  });
  afterEach(() => backend.close());

  it('reports the SHA-256 and size of what it stored', async () => {
    const bytes = randomBytes(3 * MiB + 17);
    expect(await store.ingest(unevenChunks(bytes), { maxBytes: 1e9 })).toEqual({ sha256: sha256(bytes), size: bytes.length });
    expect(await backend.keys()).toEqual([contentKey(sha256(bytes))]);
  });

  it('stores identical bytes once, however often they arrive', async () => {
    const bytes = randomBytes(300_000);
    const expected = { sha256: sha256(bytes), size: bytes.length };
    expect(await store.ingest(unevenChunks(bytes), { maxBytes: 1e9 })).toEqual(expected);
    expect(await store.ingest(Readable.from([bytes]), { maxBytes: 1e9, expectedSha256: expected.sha256 })).toEqual(expected);
    expect(await store.ingest(Readable.from([bytes]), { maxBytes: 1e9 })).toEqual(expected);
    expect(await backend.keys()).toEqual([contentKey(expected.sha256)]);
  });

  it('keeps nothing when the declared digest differs', async () => {
    const bytes = randomBytes(10_000);
    const declared = sha256(Buffer.from('other bytes'));
    await expect(store.ingest(Readable.from([bytes]), { maxBytes: 1e9, expectedSha256: declared })).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await backend.keys()).toEqual([]);
  });

  // The larger case crosses the limit after a first 8 MiB part went to S3.
  it.each([
    [1000, 1001],
    [8.5 * MiB, 9 * MiB],
  ])('keeps nothing past a limit of %i bytes', async (maxBytes, size) => {
    await expect(store.ingest(unevenChunks(randomBytes(size)), { maxBytes })).rejects.toBeInstanceOf(FileTooLargeError);
    expect(await backend.keys()).toEqual([]);
  });

  it('accepts exactly the limit', async () => {
    const bytes = randomBytes(1000);
    expect(await store.ingest(Readable.from([bytes]), { maxBytes: 1000 })).toEqual({ sha256: sha256(bytes), size: 1000 });
  });

  it.each([50_000, 9 * MiB])('keeps nothing when the source fails after %i bytes', async (size) => {
    await expect(store.ingest(failingStream(randomBytes(size)), { maxBytes: 1e9 })).rejects.toThrow('connection reset by peer');
    expect(await backend.keys()).toEqual([]);
  });

  it('keeps nothing when the source closes without ending', async () => {
    const source = new Readable({ read: () => undefined });
    source.push(randomBytes(50_000));
    setImmediate(() => source.destroy());
    await expect(store.ingest(source, { maxBytes: 1e9 })).rejects.toThrow('Premature close');
    expect(await backend.keys()).toEqual([]);
  }, 5000);

  it('verifies intact blobs and streams them back exactly', async () => {
    const bytes = randomBytes(3 * MiB);
    const stored = await store.ingest(Readable.from([bytes]), { maxBytes: 1e9 });
    await expect(store.assertIntact(stored)).resolves.toBeUndefined();
    expect((await readAll(await store.openVerified(stored))).equals(bytes)).toBe(true);
  });

  it('detects tampering, and withholds the last chunk of a corrupt stream', async () => {
    const bytes = randomBytes(3 * MiB);
    const stored = await store.ingest(Readable.from([bytes]), { maxBytes: 1e9 });
    const forged = Buffer.from(bytes);
    forged[forged.length - 1] ^= 0xff;
    await backend.overwrite(contentKey(stored.sha256), forged);

    await expect(store.assertIntact(stored)).rejects.toBeInstanceOf(BlobCorruptError);
    const { received, error } = await drain(await store.openVerified(stored));
    expect(error).toBeInstanceOf(BlobCorruptError);
    expect(received.length).toBeLessThan(bytes.length);
  });

  it('counts the bytes of accepted uploads in and of downloads out; refused uploads and its own reads count nothing', async () => {
    const counted = async () => {
      const samples = samplesOf(await metrics.exposition());
      return { in: sampleValue(samples, 'gatehouse_blob_bytes_in_total'), out: sampleValue(samples, 'gatehouse_blob_bytes_out_total') };
    };
    const bytes = randomBytes(2 * MiB + 5);
    const stored = await store.ingest(unevenChunks(bytes), { maxBytes: 1e9 });
    await expect(store.ingest(Readable.from([randomBytes(100)]), { maxBytes: 1e9, expectedSha256: sha256(bytes) })).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(store.ingest(Readable.from([randomBytes(2000)]), { maxBytes: 1000 })).rejects.toBeInstanceOf(FileTooLargeError);
    expect(await counted()).toEqual({ in: bytes.length, out: 0 });

    await readAll(await store.openVerified(stored));
    await readAll(await store.openVerified(stored, 'internal'));
    await store.assertIntact(stored);
    expect(await counted()).toEqual({ in: bytes.length, out: bytes.length });

    await backend.overwrite(contentKey(stored.sha256), Buffer.concat([bytes.subarray(0, -1), Buffer.from([bytes[bytes.length - 1] ^ 0xff])]));
    // A corrupt blob counts what the check released before it failed (read or still buffered), never its withheld last chunk.
    const { received, error } = await drain(await store.openVerified(stored));
    expect(error).toBeInstanceOf(BlobCorruptError);
    const corrupt = (await counted()).out - bytes.length;
    expect(corrupt).toBeGreaterThanOrEqual(received.length);
    expect(corrupt).toBeLessThan(bytes.length);
  });

  it('reports a missing blob as missing', async () => {
    const stored = await store.ingest(Readable.from([Buffer.from('gone')]), { maxBytes: 1e9 });
    await backend.store.delete(contentKey(stored.sha256));
    await expect(store.assertIntact(stored)).rejects.toBeInstanceOf(BlobMissingError);
    await expect(store.openVerified(stored)).rejects.toBeInstanceOf(BlobMissingError);
  });

  // More abandoned reads than the S3 client's 50 pooled sockets: each must give its socket back.
  it('releases the backend when a reader stops early', async () => {
    const stored = await store.ingest(Readable.from([randomBytes(4 * MiB)]), { maxBytes: 1e9 });
    for (let read = 0; read < 60; read++) {
      for await (const chunk of await store.openVerified(stored)) {
        expect(chunk.length).toBeGreaterThan(0);
        break;
      }
    }
    await expect(store.assertIntact(stored)).resolves.toBeUndefined();
  }, 10_000);
});

describe('content-addressed store on an unreadable disk', () => {
  let backend: Awaited<ReturnType<typeof filesystemFixture>>;
  let store: ContentAddressedStore;
  let stored: StoredContent;

  beforeEach(async () => {
    backend = await filesystemFixture();
    await backend.store.init();
    store = new ContentAddressedStore(backend.store, new MetricsService());
    stored = await store.ingest(Readable.from([randomBytes(1000)]), { maxBytes: 1e9 });
    // A directory opens but fails every read (EISDIR): a disk error after the blob was found.
    const path = join(backend.root, ...contentKey(stored.sha256).split('/'));
    await rm(path);
    await mkdir(path);
  });
  afterEach(() => backend.close());

  it('fails the integrity check as unavailable rather than waiting forever', async () => {
    await expect(store.assertIntact(stored)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
  }, 5000);

  it('fails a verified read', async () => {
    expect((await drain(await store.openVerified(stored))).error).toMatchObject({ code: 'EISDIR' });
  });
});
