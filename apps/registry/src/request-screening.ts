import type { IncomingMessage } from 'node:http';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { DomainError, SizeLimitError } from '@gatehouse/errors';
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
// `[` `{` and `]` `}`, compared directly: every byte of every JSON body passes here, and a Set lookup per byte cost more than JSON.parse.
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

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
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) throw new JsonTooDeepError();
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
}

function isFourZeros(body: Buffer, start: number): boolean {
  for (let i = start; i < start + 4; i++) if (body[i] !== DIGIT_ZERO) return false;
  return true;
}

export class UnsupportedCharsetError extends DomainError {
  constructor(charset: string) {
    super(
      'unsupported_media_type',
      'unsupported_charset',
      `JSON must be sent as UTF-8 (RFC 8259), not ${charset}; send content-type: application/json, with no charset or charset=utf-8`,
      {
        expected: 'utf-8',
        received: charset,
      },
    );
  }
}

/** express.json's `verify`: the screen above, on UTF-8 bodies only, so that no other encoding can slip past it. */
export function verifyJsonBody(_request: IncomingMessage, _response: unknown, body: Buffer, encoding: string): void {
  if (encoding !== 'utf-8') throw new UnsupportedCharsetError(encoding);
  screenJsonBody(body);
}

/** The PUT routes that replace a JSON setting; every other PUT body is artifact bytes, streamed by its handler, that must never reach a body parser. */
const JSON_PUT_ROUTE = /^\/v1\/models\/[^/?]+\/(?:scan-allowances|aliases\/[^/?]+|versions\/[^/?]+\/tags\/[^/?]+)(\?|$)/;

/** An upload: its body is a file's bytes, whatever its content-type (curl -T sends none). */
export function takesBytes(request: Pick<IncomingMessage, 'method' | 'url'>): boolean {
  return request.method === 'PUT' && !JSON_PUT_ROUTE.test(request.url ?? '');
}

/** A body of at least one byte is on its way: `POST` with no body, or `Content-Length: 0`, needs no content-type. */
export function carriesBody(request: Pick<IncomingMessage, 'headers'>): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;
}

/** `application/json`, or a JSON-based type such as `application/merge-patch+json`, with or without parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  return /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType ?? '');
}

export class NotJsonError extends DomainError {
  constructor(contentType: string | undefined) {
    super(
      'unsupported_media_type',
      'unsupported_media_type',
      `this route takes a JSON body, but the request's content-type is ${contentType ? contentType : 'missing'}; ` +
        "send the body as JSON with the header content-type: application/json (curl: -H 'content-type: application/json')",
      { expected: 'application/json', received: contentType ?? null },
    );
  }
}

export class BodyNotObjectError extends DomainError {
  constructor(received: string) {
    super('invalid', 'body_not_object', `the body must be a JSON object, got ${received}; send the fields as {"field": value, …}`, { expected: 'object', received });
  }
}

/** What a parsed body is, when it is not the JSON object every route takes; undefined for an object. */
export function nonObjectBody(body: unknown): string | undefined {
  if (body === null) return 'null';
  if (Array.isArray(body)) return 'an array';
  return typeof body === 'object' ? undefined : `a ${typeof body}`;
}

export class JsonBodyTooLargeError extends SizeLimitError {
  constructor(maxBytes: number, declaredBytes?: number) {
    super('body_too_large', { what: 'the JSON body', setting: 'MAX_JSON_BODY_SIZE', maxBytes, advice: 'send a smaller body' }, declaredBytes);
  }
}

export class UnsupportedContentEncodingError extends DomainError {
  constructor(encoding: string) {
    super('unsupported_media_type', 'unsupported_content_encoding', `content-encoding ${encoding} is not supported; send the body uncompressed, or as gzip, deflate, br or zstd`, {
      received: encoding,
    });
  }
}

/** body-parser's errors, by their `type`, as ours: each names what was wrong and what to send instead. */
export function fromBodyParser(error: { type?: string; message?: string; charset?: string; encoding?: string }, maxBytes: number): unknown {
  switch (error.type) {
    case 'entity.parse.failed':
      return new DomainError('invalid', 'invalid_json', `request body is not valid JSON: ${error.message}`);
    case 'entity.too.large':
      return new JsonBodyTooLargeError(maxBytes);
    case 'charset.unsupported':
      return new UnsupportedCharsetError(error.charset ?? 'an unknown charset');
    case 'encoding.unsupported':
      return new UnsupportedContentEncodingError(error.encoding ?? 'unknown');
    default:
      return error;
  }
}

/**
 * Every body but an upload's is JSON, and a JSON object: anything else is refused before it is read, and a body
 * over the limit from its Content-Length alone. express.json screens what it reads (NUL, depth) before parsing.
 */
export function readJsonBodies(maxBytes: number): RequestHandler {
  const parse = json({ limit: maxBytes, strict: false, type: () => true, verify: verifyJsonBody });
  return (request, response, next) => {
    if (takesBytes(request) || !carriesBody(request)) return next();
    const contentType = request.headers['content-type'];
    if (!isJsonContentType(contentType)) return next(new NotJsonError(contentType));
    const declared = Number(request.headers['content-length']);
    if (declared > maxBytes) return next(new JsonBodyTooLargeError(maxBytes, declared));
    parse(request, response, (error?: unknown) => {
      if (error) return next(fromBodyParser(error, maxBytes));
      const received = nonObjectBody(request.body);
      next(received === undefined ? undefined : new BodyNotObjectError(received));
    });
  };
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
 * any read: no file may exceed `maxFileSize`.
 */
export function refuseOversizedUploads(maxFileSize: number) {
  return (request: Request, _response: Response, next: NextFunction): void => {
    const declared = Number(request.headers['content-length']);
    next(takesBytes(request) && declared > maxFileSize ? new FileTooLargeError(maxFileSize, declared) : undefined);
  };
}
