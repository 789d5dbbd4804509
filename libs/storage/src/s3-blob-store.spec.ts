import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeBlobStore, failingStream, s3Fixture } from './blob-store.contract';
import { S3UnreachableError } from './errors';

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

describe('S3 blob store start-up', () => {
  it('waits for an endpoint that starts after the registry, says so once, and creates the bucket then', async () => {
    const backend = await s3Fixture();
    try {
      await backend.server.pause();
      const messages: string[] = [];
      let ready = false;
      const init = backend.store.init((message) => messages.push(message)).then(() => (ready = true));
      while (messages.length === 0) await sleep(20);
      expect(ready).toBe(false);
      await backend.server.resume();
      await init;
      expect(messages).toEqual([`waiting up to 30 s for S3 at ${backend.server.endpoint}, which refuses connections`]);
      await backend.store.put('t/after-wait', Readable.from([Buffer.from('stored once S3 answered')]));
      expect(await backend.keys()).toEqual(['t/after-wait']);
    } finally {
      await backend.close();
    }
  });

  it('stops waiting with what to do once the wait runs out', async () => {
    const backend = await s3Fixture({ connectWaitMs: 300 });
    try {
      await backend.server.pause();
      const failure = backend.store.init();
      await expect(failure).rejects.toThrow(S3UnreachableError);
      await expect(failure).rejects.toThrow(`S3 at ${backend.server.endpoint} refused connections for 0.3 s`);
      await expect(failure).rejects.toThrow(/point S3_ENDPOINT at one that runs/);
    } finally {
      await backend.server.resume();
      await backend.close();
    }
  });
});
