import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** Narrows `query` to rows whose name or description contains `search`, case-insensitively, LIKE's wildcards taken literally. */
export function whereNameOrDescriptionContains<T extends ObjectLiteral>(query: SelectQueryBuilder<T>, alias: string, search: string): void {
  query.andWhere(`(${alias}.name ILIKE :pattern ESCAPE '\\' OR ${alias}.description ILIKE :pattern ESCAPE '\\')`, {
    pattern: `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
  });
}
