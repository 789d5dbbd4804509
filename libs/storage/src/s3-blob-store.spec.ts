import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeBlobStore, failingStream, s3Fixture } from './blob-store.contract';

describeBlobStore('S3 (s3rver)', s3Fixture);

describe('S3 blob store', () => {
  let backend: Awaited<ReturnType<typeof s3Fixture>>;

  beforeEach(async () => {
    backend = await s3Fixture();
    await backend.store.init();
  });
  afterEach(() => backend.close());

  it('rejects a failing body only once its upload has stopped', async () => {
    const serverFiles = async () => readdir(backend.server.directory, { recursive: true });
    await expect(backend.store.put('t/broken', failingStream(randomBytes(9 * 1024 * 1024)))).rejects.toThrow('connection reset by peer');
    const atRejection = await serverFiles();
    // Long enough for a multipart upload still running in the background to reach the server.
    await sleep(300);
    expect(await serverFiles()).toEqual(atRejection);
    expect(await backend.keys()).toEqual([]);
  });

  it('reports itself unhealthy while the server is unreachable', async () => {
    await backend.server.pause();
    expect(await backend.store.health()).toMatchObject({ ok: false });
    await backend.server.resume();
    expect(await backend.store.health()).toEqual({ ok: true });
  });
});
