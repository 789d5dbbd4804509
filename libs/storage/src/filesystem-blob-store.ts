import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, type BlobStore, type ListedBlob } from './blob-store';
import { DurableFileWriter } from './durable-file-writer';

/** Blobs as files under one root; a rename within the root makes a finished upload visible atomically. */
export class FilesystemBlobStore implements BlobStore {
  readonly kind = 'filesystem';

  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = join(this.root, `.probe-${process.pid}`);
    await (await open(probe, 'w')).close();
    await unlink(probe);
  }

  async put(key: string, body: Readable): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Opened here rather than by the stream, so no open is still pending when a failed upload removes the file.
    const file = new DurableFileWriter(await open(path, 'w', 0o640));
    try {
      await pipeline(body, file);
    } catch (error) {
      // events.once would reject on the stream's own 'error'; only its closing matters here.
      if (!file.closed) await new Promise<void>((closed) => file.once('close', () => closed()));
      await rm(path, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new BlobNotFoundError(key) : error;
    });
    return createReadStream('', { fd: handle, highWaterMark: 1024 * 1024 });
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.pathOf(key))).size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.pathOf(to);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.pathOf(from), target).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new BlobNotFoundError(from) : error;
    });
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<ListedBlob> {
    yield* this.walk(prefix === '' ? this.root : this.pathOf(prefix.replace(/\/$/, '')));
  }

  async abortUploadsIdleSince(): Promise<number> {
    return 0;
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    try {
      await readdir(this.root);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  private async *walk(directory: string): AsyncIterable<ListedBlob> {
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        yield* this.walk(path);
        continue;
      }
      // A file removed between the listing and its stat (a finished upload moved on) is simply gone.
      const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (stats?.isFile()) yield { key: relative(this.root, path).split(sep).join('/'), size: stats.size, lastModified: stats.mtime };
    }
  }

  private pathOf(key: string): string {
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) || key.split('/').some((part) => /^\.+$/.test(part))) {
      throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    }
    return join(this.root, key.split('/').join(sep));
  }
}
