import { readdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { TestRegistry } from './registry';

/** Looks at the blob store behind the API, the way an operator (or an attacker) could. */
export class BlobInspection {
  constructor(private readonly registry: TestRegistry) {}

  async keys(): Promise<string[]> {
    const store = this.registry.config.blobStore;
    if (store.kind === 'filesystem') return walk(store.root, store.root);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client().send(new ListObjectsV2Command({ Bucket: store.bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  /** Overwrites a stored blob in place, bypassing the registry. */
  async overwrite(sha256: string, bytes: Buffer): Promise<void> {
    const key = `sha256/${sha256.slice(0, 2)}/${sha256}`;
    const store = this.registry.config.blobStore;
    if (store.kind === 'filesystem') {
      await writeFile(join(store.root, ...key.split('/')), bytes);
      return;
    }
    await this.client().send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: bytes }));
  }

  private client(): S3Client {
    const store = this.registry.config.blobStore;
    if (store.kind !== 's3') throw new Error('not an S3 store');
    return new S3Client({
      region: store.region,
      endpoint: store.endpoint,
      forcePathStyle: true,
      credentials: store.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }
}

async function walk(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? walk(root, join(dir, entry.name)) : Promise.resolve([relative(root, join(dir, entry.name)).split(sep).join('/')]))),
  );
  return nested.flat().sort();
}
