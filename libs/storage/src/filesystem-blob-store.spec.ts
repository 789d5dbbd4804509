import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describeBlobStore, filesystemFixture } from './blob-store.contract';
import { FilesystemBlobStore } from './filesystem-blob-store';

describeBlobStore('filesystem', filesystemFixture);

describe('filesystem blob store keys', () => {
  it('refuses keys that could escape its root', async () => {
    const store = new FilesystemBlobStore(join(tmpdir(), 'never-created'));
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', 'a\\b', '']) {
      await expect(store.put(key, Readable.from([Buffer.from('x')]))).rejects.toThrow('invalid blob key');
    }
  });
});
