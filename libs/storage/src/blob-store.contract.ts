import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MetricsService } from '@gatehouse/metrics';
import { startS3Server, type TestS3Server } from '../../../test/support/s3-server';
import { BlobNotFoundError, type BlobStore, type ListedBlob } from './blob-store';
import { ContentAddressedStore } from './content-addressed-store';
import { FilesystemBlobStore } from './filesystem-blob-store';
import { S3BlobStore } from './s3-blob-store';

/** A blob store on a real, empty and not yet initialised backend, plus a view of that backend that bypasses the adapter. */
export interface BlobStoreFixture {
  store: BlobStore;
  /** Every key the backend holds, listed without the adapter (a directory walk, ListObjectsV2). */
  keys(): Promise<string[]>;
  /** Replaces a key's bytes without the adapter, as an operator or an attacker could. */
  overwrite(key: string, bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

export type BlobStoreFactory = () => Promise<BlobStoreFixture>;

/** A store under a directory that does not exist yet: init must create it. */
export async function filesystemFixture(): Promise<BlobStoreFixture & { root: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-fs-store-'));
  const root = join(directory, 'blobs');
  return {
    root,
    store: new FilesystemBlobStore(root),
    keys: () => filesUnder(root),
    overwrite: (key, bytes) => writeFile(join(root, ...key.split('/')), bytes),
    close: () => rm(directory, { recursive: true, force: true }),
  };
}

/** A store on its own s3rver, in a bucket that does not exist yet: init must create it. */
export async function s3Fixture(options?: ConstructorParameters<typeof S3BlobStore>[1]): Promise<BlobStoreFixture & { server: TestS3Server }> {
  const server = await startS3Server();
  const bucket = `gatehouse-${randomBytes(6).toString('hex')}`;
  const connection = {
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
  const client = new S3Client({ ...connection, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  return {
    server,
    store: new S3BlobStore({ kind: 's3', bucket, ...connection }, options),
    async keys() {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((object) => object.Key!).sort();
    },
    async overwrite(key, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    async close() {
      client.destroy();
      await server.stop();
    },
  };
}

async function filesUnder(root: string, directory = root): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? filesUnder(root, join(directory, entry.name)) : Promise.resolve([relative(root, join(directory, entry.name)).split(sep).join('/')]),
    ),
  );
  return nested.flat().sort();
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const UNEVEN_CHUNK_SIZES = [1, 4093, 65_537, 1_048_573, 7];

/** `bytes` in chunks of uneven sizes, so chunk boundaries line up with no part or buffer size. */
export function unevenChunks(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = UNEVEN_CHUNK_SIZES[i % UNEVEN_CHUNK_SIZES.length];
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return Readable.from(chunks);
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

const MiB = 1024 * 1024;

async function listed(store: BlobStore, prefix: string): Promise<ListedBlob[]> {
  const blobs: ListedBlob[] = [];
  for await (const blob of store.list(prefix)) blobs.push(blob);
  return blobs.sort((a, b) => a.key.localeCompare(b.key));
}

/** Waits into the next whole second: S3's Last-Modified (s3rver's at least) has one-second resolution. */
const pastTheSecond = () => sleep(1000 - (Date.now() % 1000) + 20);

const write = (stream: PassThrough, bytes: Buffer) => new Promise<void>((resolve) => (stream.write(bytes) ? resolve() : stream.once('drain', () => resolve())));

/** What every BlobStore adapter must do, run against each real backend. */
export function describeBlobStore(name: string, open: BlobStoreFactory): void {
  describe(`${name} blob store`, () => {
    let backend: BlobStoreFixture;
    let store: BlobStore;

    beforeEach(async () => {
      backend = await open();
      store = backend.store;
      await store.init();
    });
    afterEach(() => backend.close());

    it('round-trips random bytes and reports their size', async () => {
      const bytes = randomBytes(100_000);
      await store.put('t/round-trip', Readable.from([bytes]));
      expect((await readAll(await store.get('t/round-trip'))).equals(bytes)).toBe(true);
      expect(await store.stat('t/round-trip')).toEqual({ size: bytes.length });
      expect(await backend.keys()).toEqual(['t/round-trip']);
    });

    it('streams a 20 MiB body (multipart on S3, whose parts are 8 MiB)', async () => {
      const bytes = randomBytes(20 * MiB);
      await store.put('t/large', unevenChunks(bytes));
      expect((await readAll(await store.get('t/large'))).equals(bytes)).toBe(true);
      expect(await store.stat('t/large')).toEqual({ size: bytes.length });
    });

    it('answers absent keys: stat undefined, get BlobNotFoundError, delete fine', async () => {
      expect(await store.stat('t/absent')).toBeUndefined();
      await expect(store.get('t/absent')).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.delete('t/absent')).resolves.toBeUndefined();
    });

    it('deletes a blob', async () => {
      await store.put('t/doomed', Readable.from([randomBytes(10)]));
      await store.delete('t/doomed');
      expect(await backend.keys()).toEqual([]);
    });

    it('moves a blob, replacing the target and removing the source', async () => {
      const moved = randomBytes(5000);
      await store.put('t/source', Readable.from([moved]));
      await store.put('t/target', Readable.from([randomBytes(9000)]));
      await store.move('t/source', 't/target');
      expect((await readAll(await store.get('t/target'))).equals(moved)).toBe(true);
      expect(await backend.keys()).toEqual(['t/target']);
    });

    it('refuses to move an absent blob', async () => {
      await expect(store.move('t/absent', 't/target')).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    // 64 KiB fails within S3's single PUT; 9 MiB fails after a first multipart part was sent.
    it.each([64 * 1024, 9 * MiB])('leaves nothing when the body fails after %i bytes', async (size) => {
      await expect(store.put('t/broken', failingStream(randomBytes(size)))).rejects.toThrow('connection reset by peer');
      expect(await store.stat('t/broken')).toBeUndefined();
      expect(await backend.keys()).toEqual([]);
    });

    it('lists the blobs under a prefix with their sizes and when they were written', async () => {
      const started = Date.now();
      await store.put('t/a', Readable.from([randomBytes(10)]));
      await store.put('t/nested/b', Readable.from([randomBytes(20)]));
      await store.put('other/c', Readable.from([randomBytes(30)]));
      const blobs = await listed(store, 't/');
      expect(blobs.map(({ key, size }) => ({ key, size }))).toEqual([
        { key: 't/a', size: 10 },
        { key: 't/nested/b', size: 20 },
      ]);
      for (const blob of blobs) {
        expect(blob.lastModified.getTime()).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000);
        expect(blob.lastModified.getTime()).toBeLessThanOrEqual(Date.now());
      }
      expect(await listed(store, 'absent/')).toEqual([]);
    });

    it('removes temporary uploads nothing has written to within the grace, and nothing a live upload still writes', async () => {
      const content = new ContentAddressedStore(store, new MetricsService());
      await store.put('tmp/abandoned', Readable.from([randomBytes(100)]));
      const live = new PassThrough();
      const liveUpload = store.put('tmp/live', live);
      await write(live, randomBytes(MiB));
      await pastTheSecond();
      const cutoff = Date.now();
      await pastTheSecond();
      // The live upload keeps writing after the cutoff (past an 8 MiB S3 part); a new upload starts.
      for (let i = 0; i < 9; i++) await write(live, randomBytes(MiB));
      await store.put('tmp/recent', Readable.from([randomBytes(100)]));
      const kept = await content.ingest(Readable.from([randomBytes(1000)]), { maxBytes: MiB });

      const cleanup = await content.removeStaleTemporaries(Date.now() - cutoff);
      expect(cleanup.removedKeys).toEqual(['tmp/abandoned']);
      expect(cleanup.abortedUploads === undefined || cleanup.abortedUploads === 0).toBe(true);

      live.end();
      await liveUpload;
      expect(await store.stat('tmp/live')).toEqual({ size: 10 * MiB });
      expect(await backend.keys()).toEqual([`sha256/${kept.sha256.slice(0, 2)}/${kept.sha256}`, 'tmp/live', 'tmp/recent']);
    });

    it('initialises a missing backend, idempotently, without losing blobs', async () => {
      const fresh = await open();
      try {
        expect((await fresh.store.health()).ok).toBe(false);
        await fresh.store.init();
        const bytes = randomBytes(1000);
        await fresh.store.put('t/kept', Readable.from([bytes]));
        await fresh.store.init();
        expect(await fresh.store.health()).toEqual({ ok: true });
        expect((await readAll(await fresh.store.get('t/kept'))).equals(bytes)).toBe(true);
      } finally {
        await fresh.close();
      }
    });
  });
}
