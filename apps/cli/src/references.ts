import { ExitError } from './command-context';

/** Parses `model@version[:relation]`, as in `--parent base@1.0.0:fine_tuned_from`. */
export function parseVersionRef(text: string): { model: string; version: string; relation?: string } {
  const match = /^([^@\s:]+)@([^@\s:]+)(?::([a-z][a-z_]*))?$/.exec(text);
  if (!match) throw new UsageError(`"${text}" is not MODEL@VERSION[:RELATION]`);
  return { model: match[1], version: match[2], ...(match[3] ? { relation: match[3] } : {}) };
}

/** Parses `name@version:role`, as in `--dataset transactions@2024-11:training`. */
export function parseDatasetRef(text: string): { name: string; version: string; role: string } {
  const match = /^([^@\s:]+)@([^@\s:]+):(training|validation|evaluation|reference|example)$/.exec(text);
  if (!match) throw new UsageError(`"${text}" is not NAME@VERSION:ROLE (role: training, validation, evaluation, reference or example)`);
  return { name: match[1], version: match[2], role: match[3] };
}

/** Parses `name@version`, as in `datasets show transactions@2024-11`. */
export function parseDatasetVersion(text: string): { name: string; version: string } {
  const match = /^([^@\s:]+)@([^@\s:]+)$/.exec(text);
  if (!match) throw new UsageError(`"${text}" is not NAME@VERSION`);
  return { name: match[1], version: match[2] };
}

/** Parses a whole number of a numeric option, as in `--timeout 600`. */
/** An option's text as a patch value: absent stays absent, "" clears the field. */
export function clearable(text: string | undefined): string | null | undefined {
  return text === undefined ? undefined : text === '' ? null : text;
}

/** `key=value` from the command line, as a tag. */
export function parseTagAssignment(text: string): [string, string] {
  const separator = text.indexOf('=');
  if (separator <= 0) throw new UsageError(`"${text}" is not key=value (a tag's key, "=", then its value)`);
  return [text.slice(0, separator), text.slice(separator + 1)];
}

export function parseWholeNumber(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} takes a whole number, not "${text}"`);
  return Number(text);
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends ExitError {
  constructor(message: string) {
    super(2, message);
    this.name = 'UsageError';
  }
}

/** Commander's accumulator for a repeatable option (`--tag a --tag b`). */
export const collect = (value: string, previous: string[] = []) => [...previous, value];
