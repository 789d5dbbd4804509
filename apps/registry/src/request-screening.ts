import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '@gatehouse/errors';
import { FileTooLargeError } from '@gatehouse/storage';

/**
 * JSON bodies nested deeper than this are refused before they are parsed:
 * parsing, transformation and validation each recurse once per level, and a
 * 1 MiB body can nest 500,000 deep. No request the API takes needs more.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LETTER_U = 0x75;
const DIGIT_ZERO = 0x30;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);

export class NulCharacterError extends DomainError {
  constructor(where: string) {
    super('invalid', 'nul_character', `${where} contains a NUL character (\\u0000), which no field accepts; remove it`);
  }
}

export class JsonTooDeepError extends DomainError {
  constructor() {
    super('invalid', 'json_too_deep', `request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; flatten it`, {
      maxDepth: MAX_JSON_DEPTH,
    });
  }
}

/**
 * One linear pass over a raw UTF-8 JSON body, before it is parsed: refuses
 * nesting past {@link MAX_JSON_DEPTH} and a `\u0000` escape in any string,
 * keys included (Postgres stores NUL in neither text nor jsonb). Raw control
 * bytes are left to the parser, which refuses them anyway.
 */
export function screenJsonBody(body: Buffer): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) {
        if (body[i + 1] === LETTER_U && isFourZeros(body, i + 2)) throw new NulCharacterError('a JSON string');
        i++;
      } else if (byte === QUOTE) {
        inString = false;
      }
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPENERS.has(byte)) {
      if (++depth > MAX_JSON_DEPTH) throw new JsonTooDeepError();
    } else if (CLOSERS.has(byte)) {
      depth--;
    }
  }
}

function isFourZeros(body: Buffer, start: number): boolean {
  for (let i = start; i < start + 4; i++) if (body[i] !== DIGIT_ZERO) return false;
  return true;
}

/** express.json's `verify`: the screen above, on UTF-8 bodies only, so that no other encoding can slip past it. */
export function verifyJsonBody(_request: IncomingMessage, _response: unknown, body: Buffer, encoding: string): void {
  if (encoding !== 'utf-8') {
    throw new DomainError('invalid', 'unsupported_charset', `JSON must be sent as UTF-8 (RFC 8259), not ${encoding}`);
  }
  screenJsonBody(body);
}

/** An encoded NUL anywhere in the path or query: Express decodes it into parameters that would reach Postgres. */
export function hasEncodedNul(url: string | undefined): boolean {
  return url?.includes('%00') ?? false;
}

/** Refuses a URL holding a NUL before any route sees it, for every route at once. */
export function refuseNulInUrl(request: Request, _response: Response, next: NextFunction): void {
  next(hasEncodedNul(request.url) ? new NulCharacterError('the URL') : undefined);
}

/**
 * Refuses an upload from its Content-Length alone, before authentication or
 * any read: every PUT body is a file, and none may exceed `maxFileSize`.
 */
export function refuseOversizedUploads(maxFileSize: number) {
  return (request: Request, _response: Response, next: NextFunction): void => {
    const declared = Number(request.headers['content-length']);
    next(request.method === 'PUT' && declared > maxFileSize ? new FileTooLargeError(maxFileSize, declared) : undefined);
  };
}
