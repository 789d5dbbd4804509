/**
 * Which flag gave each API field a request sends, as in promote's
 * `{ stage: '--to', trafficPercent: '--traffic', reason: '--reason' }`. A key
 * may name a list a repeatable flag fills, such as `parents` for `--parent`:
 * its items' fields are then named by the flag and the item's place
 * (`parents.0.relation` is `--parent #1 relation`).
 */
export type FlagNames = Readonly<Record<string, string>>;

/** One invalid field of a refused request, as the registry lists it in `details.fields`. */
export interface FieldError {
  field: string;
  errors: string[];
}

/**
 * A refusal in the words of the command line: every field the request took
 * from a flag named by that flag, in its `details.fields` entry and in the
 * message. The registry names a field by its path (`source.commit`) and, in
 * validation messages, by its last part at the start ("commit must be …");
 * both become the flag. Elsewhere in a message only paths that are not plain
 * words (`trafficPercent`, `source.commit`) are renamed: "version" or "stage"
 * in a sentence are words, not fields.
 */
export function nameFlags(message: string, fields: readonly FieldError[], flags: FlagNames): { message: string; fields: FieldError[] } {
  let named = message;
  const renamed = fields.map((field) => {
    const own = Object.hasOwn(flags, field.field) ? flags[field.field] : undefined;
    const flag = own ?? itemOf(field.field, flags);
    if (!flag) return field;
    const errors = own ? field.errors.map((error) => renameIn(error, field.field, own)) : field.errors;
    // The registry's message quotes each field's errors, after `path: ` where it lists several.
    for (const [index, error] of field.errors.entries()) named = named.split(error).join(errors[index]);
    named = named.split(`${field.field}: `).join(`${flag}: `);
    return { field: flag, errors };
  });
  return { message: named, fields: renamed };
}

/** A field of an item of a list a flag filled, as `--parent #1 relation`. */
function itemOf(path: string, flags: FlagNames): string | undefined {
  const list = Object.keys(flags).find((key) => path.startsWith(`${key}.`));
  if (!list) return undefined;
  const [index, ...rest] = path.slice(list.length + 1).split('.');
  const place = /^\d+$/.test(index) ? [`#${Number(index) + 1}`] : [index];
  return [flags[list], ...place, ...rest].join(' ');
}

function renameIn(error: string, path: string, flag: string): string {
  const leaf = path.slice(path.lastIndexOf('.') + 1);
  const atStart = error.startsWith(`${leaf} `) ? `${flag}${error.slice(leaf.length)}` : error;
  if (/^[a-z]+$/.test(path)) return atStart;
  return atStart.replace(new RegExp(`(?<![\\w.-])${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`, 'g'), flag);
}
