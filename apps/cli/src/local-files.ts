import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';

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

/** A file, or every regular file under a directory, in manifest order; symlinks are skipped, never followed. */
export async function collectFiles(target: string): Promise<CollectedFiles> {
  const root = resolve(target);
  const info = await lstat(root);
  if (info.isFile()) return { files: [{ path: basename(root), absolutePath: root, size: info.size }], skippedSymlinks: [] };
  if (!info.isDirectory()) throw new Error(`${target} is neither a file nor a directory`);
  const collected: CollectedFiles = { files: [], skippedSymlinks: [] };
  await walk(root, root, collected);
  collected.files.sort((a, b) => comparePaths(a.path, b.path));
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

/** By path components, the registry's manifest order. */
export function comparePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return left.length - right.length;
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

/** The URL path of a registry file: each segment encoded on its own. */
export function encodeFilePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
