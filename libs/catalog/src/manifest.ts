import { createHash } from 'node:crypto';
import semver from 'semver';
import { comparePathComponents } from '@gatehouse/model-signing';

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

/** Entries in manifest order: by path components. */
export function sortManifest<T extends ManifestEntry>(entries: T[]): T[] {
  return [...entries].sort((a, b) => comparePathComponents(a.path, b.path));
}

/** SHA-256 over the canonical JSON of the sorted manifest: one digest that names a version's exact files. */
export function manifestDigest(entries: ManifestEntry[]): string {
  const canonical = JSON.stringify(sortManifest(entries).map(({ path, sha256, size }) => ({ path, sha256, size })));
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Strict semantic versions only: no "v" prefix, no loose forms; build metadata allowed. */
export function isSemanticVersion(version: string): boolean {
  const parsed = semver.parse(version);
  if (!parsed) return false;
  const canonical = parsed.build.length > 0 ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version;
  return canonical === version;
}
