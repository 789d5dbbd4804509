/**
 * Version tags: free key/value labels, like MLflow's model version tags.
 * Keys are short identifiers (letters, digits, `_ . : / -`), values any text
 * up to MLflow's limit, so tags written by MLflow clients fit.
 */
export const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
export const TAG_KEY_RULE = 'a tag key is 1-128 characters of letters, digits, "_", ".", ":", "/" or "-", starting with a letter or digit';
export const MAX_TAG_VALUE_LENGTH = 5000;
export const MAX_TAGS_PER_VERSION = 100;

/** A tag patch: a value sets the key, null removes it (JSON Merge Patch, RFC 7396). */
export type TagPatch = Record<string, string | null>;

/** One key's change, for the audit log; null on a side means absent. */
export interface TagChange {
  from: string | null;
  to: string | null;
}

/** The problem with a tag object (set when `patch`: null values allowed), or undefined when it is fine. */
export function tagProblem(value: unknown, options: { patch: boolean }): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'tags must be an object of key to text, e.g. {"team": "risk"}';
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS_PER_VERSION) return `a version carries at most ${MAX_TAGS_PER_VERSION} tags`;
  for (const [key, tag] of entries) {
    if (!TAG_KEY.test(key)) return `tag "${key}": ${TAG_KEY_RULE}`;
    if (tag === null && options.patch) continue;
    if (typeof tag !== 'string') return `tag "${key}" must be text${options.patch ? ', or null to remove it' : ''}`;
    if (tag.length > MAX_TAG_VALUE_LENGTH) return `tag "${key}" is longer than ${MAX_TAG_VALUE_LENGTH} characters`;
  }
  return undefined;
}

/** The tags after `patch`, and what changed key by key (unchanged keys are left out). */
export function applyTagPatch(current: Record<string, string>, patch: TagPatch): { tags: Record<string, string>; changes: Record<string, TagChange> } {
  const tags = { ...current };
  const changes: Record<string, TagChange> = {};
  for (const [key, value] of Object.entries(patch)) {
    const from = current[key] ?? null;
    if (from === value) continue;
    if (value === null) delete tags[key];
    else tags[key] = value;
    changes[key] = { from, to: value };
  }
  return { tags, changes };
}

/** `key=value` matches that value, `key` any value: the `?tag=` filter of version lists. */
export function parseTagFilter(filter: string): { key: string; value?: string } {
  const separator = filter.indexOf('=');
  return separator < 0 ? { key: filter } : { key: filter.slice(0, separator), value: filter.slice(separator + 1) };
}
