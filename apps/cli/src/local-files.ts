import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { comparePathComponents } from '@gatehouse/model-signing';
import { UsageError } from './references';

export interface LocalFile {
  /** Relative POSIX path: the file's name in the registry. */
  path: string;
  absolutePath: string;
  size: number;
}

export interface CollectedFiles {
  files: LocalFile[];
  skippedSymlinks: string[];
}

/**
 * A file, or every regular file under a directory, in manifest order. Symlinks
 * inside the directory are skipped, never followed; the target itself may be
 * one, since the user named it.
 */
export async function collectFiles(target: string): Promise<CollectedFiles> {
  const root = resolve(target);
  const info = await stat(root);
  if (info.isFile()) return { files: [{ path: basename(root), absolutePath: root, size: info.size }], skippedSymlinks: [] };
  if (!info.isDirectory()) throw new Error(`${target} is neither a file nor a directory`);
  const collected: CollectedFiles = { files: [], skippedSymlinks: [] };
  await walk(root, root, collected);
  collected.files.sort((a, b) => comparePathComponents(a.path, b.path));
  return collected;
}

async function walk(root: string, dir: string, collected: CollectedFiles): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const absolutePath = join(dir, entry.name);
    const path = relative(root, absolutePath).split(sep).join('/');
    if (entry.isSymbolicLink()) collected.skippedSymlinks.push(path);
    else if (entry.isDirectory()) await walk(root, absolutePath, collected);
    else if (entry.isFile()) collected.files.push({ path, absolutePath, size: (await lstat(absolutePath)).size });
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Where a registry path lands under `dir`; refuses any path that would leave it. */
export function safeDestination(dir: string, path: string): string {
  const root = resolve(dir);
  const target = resolve(root, ...path.split('/'));
  if (path.includes('\\') || path.split('/').some((part) => part === '..' || part === '') || !target.startsWith(root + sep)) {
    throw new Error(`refusing to write "${path}" outside ${root}`);
  }
  return target;
}

/**
 * Creates the directories a registry path needs under `dir` and returns where
 * its file goes. Checked again after mkdir, because a directory that already
 * exists there may be a symlink leading out of `dir`.
 */
export async function prepareDestination(dir: string, path: string): Promise<string> {
  const target = safeDestination(dir, path);
  await mkdir(dirname(target), { recursive: true });
  const root = await realpath(dir);
  const parent = await realpath(dirname(target));
  if (parent !== root && !parent.startsWith(root + sep)) throw new Error(`refusing to write "${path}": ${dirname(target)} leads outside ${root}`);
  return target;
}

/**
 * Streams `body` to `destination`, hashing as it writes. The bytes go to a
 * temporary file beside it that is renamed only once their SHA-256 matches, so
 * a transfer that is cut off or corrupt never leaves a file that looks complete.
 */
export async function writeVerified(body: ReadableStream<Uint8Array>, destination: string, expectedSha256: string): Promise<void> {
  const partial = join(dirname(destination), `.${basename(destination)}.${randomBytes(4).toString('hex')}.partial`);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    try {
      await pipeline(Readable.fromWeb(body), hashing, createWriteStream(partial));
    } catch (error) {
      const cause = (error as { cause?: Error }).cause?.message;
      throw new Error(`transfer of ${destination} was cut off: ${(error as Error).message}${cause ? ` (${cause})` : ''}`);
    }
    const actual = hash.digest('hex');
    if (actual !== expectedSha256) throw new Error(`${destination}: SHA-256 ${actual} does not match the manifest's ${expectedSha256}`);
    await rename(partial, destination);
  } finally {
    await rm(partial, { force: true });
  }
}

/** The URL path of a registry file: each segment encoded on its own. */
export function encodeFilePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** A JSON file named on the command line; one that cannot be read or parsed is a usage error, `${label}: why`. */
export async function readJsonFile<T>(path: string, label: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new UsageError(`${label}: ${(error as Error).message}`);
  }
}
