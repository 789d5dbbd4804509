import type { VersionRef } from './catalog.types';

/** The audit subject naming a version: `version:model@version`, what `/v1/audit?subject=` filters on. */
export function versionSubject(ref: VersionRef): string {
  return `version:${ref.model}@${ref.version}`;
}
