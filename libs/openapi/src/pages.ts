import { DomainError } from '@gatehouse/errors';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** Keyset cursors, the one format of every page the API answers: the last row's sort key, opaque to clients. */
function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

export function decodeCursor<T extends string | number>(cursor: string, type: 'string' | 'number'): T {
  try {
    const key = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown }).k;
    if (typeof key === type) return key as T;
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidCursorError();
}

export class InvalidCursorError extends DomainError {
  constructor() {
    super('invalid', 'invalid_cursor', 'cursor is not one this API returned', {
      fields: [{ field: 'cursor', errors: ['cursor must be a nextCursor value from a previous page'] }],
    });
  }
}

/**
 * Cuts a page from `limit + 1` fetched rows: the extra row only tells that
 * another page exists, and the last returned row's key becomes its cursor.
 */
export function keysetPage<Row, Item>(rows: Row[], limit: number, keyOf: (row: Row) => string | number, map: (row: Row) => Item): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return {
    items: page.map(map),
    nextCursor: rows.length > limit ? encodeCursor(keyOf(page[page.length - 1])) : null,
  };
}

/** `?limit=&cursor=`: a page of a list newest first (gate runs, promotions, analyses, alerts, deliveries). */
export class RecentPageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}
