import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describeBlobStore, filesystemFixture, readAll, unevenChunks, type BlobStoreFixture } from './blob-store.contract';
import { WRITEBACK_INTERVAL_BYTES } from './durable-file-writer';
import { FilesystemBlobStore } from './filesystem-blob-store';

const MiB = 1024 * 1024;

describeBlobStore('filesystem', filesystemFixture);

describe('filesystem blob store keys', () => {
  it('refuses keys that could escape its root', async () => {
    const store = new FilesystemBlobStore(join(tmpdir(), 'never-created'));
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', 'a\\b', '']) {
      await expect(store.put(key, Readable.from([Buffer.from('x')]))).rejects.toThrow('invalid blob key');
    }
  });
});

describe('filesystem blob store writeback', () => {
  let backend: BlobStoreFixture;

  beforeEach(async () => {
    backend = await filesystemFixture();
    await backend.store.init();
  });
  afterEach(() => backend.close());

  it('writes a body past several writeback intervals whole', async () => {
    const bytes = randomBytes(2 * WRITEBACK_INTERVAL_BYTES + 12_345);
    await backend.store.put('t/large', unevenChunks(bytes));
    expect((await readAll(await backend.store.get('t/large'))).equals(bytes)).toBe(true);
  });

  it('leaves nothing when the body fails after writeback has started', async () => {
    // In 1 MiB chunks, so that the first interval is written (and its datasync started) before the failure is read.
    const chunks = Array.from({ length: WRITEBACK_INTERVAL_BYTES / MiB + 8 }, () => randomBytes(MiB));
    const failing = Readable.from(
      (async function* () {
        yield* chunks;
        throw new Error('connection reset by peer');
      })(),
    );
    await expect(backend.store.put('t/broken', failing)).rejects.toThrow('connection reset by peer');
    expect(await backend.keys()).toEqual([]);
  });
});
