import { InvalidDeliveryCursorError } from './errors';

// The catalog's cursor format ({k: last seq} in base64url JSON), so every page
// of the API takes the same kind of cursor; events may not import catalog.

export function encodeDeliveryCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ k: seq }), 'utf8').toString('base64url');
}

export function decodeDeliveryCursor(cursor: string): number {
  try {
    const key = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown }).k;
    if (typeof key === 'number' && Number.isSafeInteger(key) && key > 0) return key;
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidDeliveryCursorError();
}
