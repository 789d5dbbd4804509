import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { freePort } from './server-process';

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

/**
 * s3rver in a process of its own, for tests that race many writes and
 * deletions: its filesystem store is racy there (a delete removes a
 * directory left empty while another request is about to write into it),
 * and in this process its errors would surface as the test's own. Out of
 * process a failed request is an S3 error the client retries; see
 * {@link keepS3Directory} for the one that would end the server.
 */
export async function startS3ServerProcess(): Promise<{ endpoint: string; accessKeyId: string; secretAccessKey: string; stop(): Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-s3-process-'));
  const port = await freePort();
  const server = spawn(resolve(__dirname, '../../node_modules/.bin/s3rver'), ['--directory', directory, '--address', '127.0.0.1', '--port', String(port), '--silent'], {
    stdio: 'ignore',
  });
  const exited = new Promise((done) => server.once('exit', done));
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (server.exitCode !== null || attempt > 300) throw new Error(`s3rver did not start on port ${port}`);
    await new Promise((done) => setTimeout(done, 50));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      if (server.exitCode === null) server.kill('SIGTERM');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * Puts a placeholder object under `prefix`, so that s3rver never removes that
 * directory for being empty: its PutObject writes into the directory without
 * an error handler, and a directory removed under it ends the whole server.
 */
export async function keepS3Directory(server: { endpoint: string; accessKeyId: string; secretAccessKey: string }, bucket: string, prefix: string): Promise<void> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}.s3rver-keep`, Body: '' }));
  } finally {
    client.destroy();
  }
}
