import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3Server {
  endpoint: string;
  directory: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops answering, as an unreachable S3 would; the stored objects stay. */
  pause(): Promise<void>;
  /** Answers again on the same port, with the same objects. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A real S3-protocol server (s3rver) on loopback, storing under a temporary directory. */
export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-s3-'));
  const listen = async (port: number) => {
    const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true });
    return { server, port: (await server.run()).port };
  };
  let running: { server: { close(): Promise<void> }; port: number } | undefined = await listen(0);
  const port = running.port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    // s3rver's fixed development credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async pause() {
      await running?.server.close();
      running = undefined;
    },
    async resume() {
      running = await listen(port);
    },
    async stop() {
      await running?.server.close();
      running = undefined;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
