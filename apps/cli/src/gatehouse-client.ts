import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Page } from './api-types';
import { nameFlags, type FieldError, type FlagNames } from './flag-names';

/** URL path segments, each percent-encoded: `apiPath('fraud', 'versions', '1.2.0')`. */
export const apiPath = (...segments: string[]) => segments.map(encodeURIComponent).join('/');

/** `path?key=value&…` with the query's defined values, or `path` when there are none. */
/** An array repeats its parameter (`tag=a&tag=b`). */
export function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams(
    Object.entries(query).flatMap(([key, value]) => (value === undefined ? [] : [value].flat().map((each): [string, string] => [key, each]))),
  ).toString();
  return params ? `${path}?${params}` : path;
}

export type Query = Record<string, string | string[] | undefined>;

/** An error answer from the registry: its status, stable code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The registry's HTTP API as the CLI uses it. */
export class GatehouseClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  /** `flags` names the flag each field of `body` came from: a refusal naming the field names the flag instead. */
  post<T>(path: string, body: unknown = {}, flags?: FlagNames): Promise<T> {
    return this.json<T>('POST', path, body, flags);
  }

  putJson<T>(path: string, body: unknown, flags?: FlagNames): Promise<T> {
    return this.json<T>('PUT', path, body, flags);
  }

  patch<T>(path: string, body: unknown, flags?: FlagNames): Promise<T> {
    return this.json<T>('PATCH', path, body, flags);
  }

  delete<T>(path: string): Promise<T> {
    return this.json<T>('DELETE', path);
  }

  /** The items of a paged list: its first page, or with `all` every page's. */
  async list<T>(path: string, query: Query, all: boolean): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages<T>(path, query)) {
      items.push(...page);
      if (!all) break;
    }
    return items;
  }

  /** The first item of a paged list that `matches`, fetching pages only until it turns up. */
  async find<T>(path: string, query: Query, matches: (item: T) => boolean): Promise<T | undefined> {
    for await (const page of this.pages<T>(path, query)) {
      const found = page.find(matches);
      if (found) return found;
    }
    return undefined;
  }

  /** Each page's items in turn, following nextCursor to the last page. */
  private async *pages<T>(path: string, query: Query): AsyncGenerator<T[]> {
    let cursor: string | null = null;
    do {
      const page: Page<T> = await this.get<Page<T>>(withQuery(path, { ...query, cursor: cursor ?? undefined }));
      yield page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Streams `body` as a file upload. */
  async upload<T>(path: string, body: Readable, headers: Record<string, string>): Promise<T> {
    let readFailure: Error | undefined;
    body.once('error', (error) => (readFailure = error));
    try {
      const response = await this.send('PUT', path, {
        body: Readable.toWeb(body) as ReadableStream,
        headers: { 'content-type': 'application/octet-stream', ...headers },
        duplex: 'half',
      });
      return (await response.json()) as T;
    } catch (error) {
      // A local read error also fails the request; report it as what it is, not as an unreachable registry.
      throw readFailure ?? error;
    }
  }

  /** Opens a download; the caller streams the returned body. */
  async download(path: string): Promise<WebReadableStream<Uint8Array>> {
    const response = await this.send('GET', path);
    if (!response.body) throw new ApiError(response.status, 'empty_response', `no body in the response to GET ${path}`);
    return response.body as WebReadableStream<Uint8Array>;
  }

  private async json<T>(method: string, path: string, body?: unknown, flags?: FlagNames): Promise<T> {
    const init = body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    return (await (await this.send(method, path, init, flags)).json()) as T;
  }

  private async send(method: string, path: string, init: RequestInit & { duplex?: 'half'; headers?: Record<string, string> } = {}, flags?: FlagNames): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        ...init,
        method,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...init.headers },
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string; code?: string } }).cause;
      const reason = cause?.message ?? (error as Error).message;
      // The registry may have answered an upload before reading it all (a file over its limit), and closed the connection under it.
      if (cause?.code && CONNECTION_LOST.has(cause.code)) throw new ApiError(0, 'connection_lost', `the registry closed the connection during ${method} ${path}: ${reason}`);
      throw new ApiError(0, 'unreachable', `cannot reach ${this.baseUrl}: ${reason}`);
    }
    if (response.ok) return response;
    const text = await response.text();
    try {
      throw refusal(response.status, JSON.parse(text) as RegistryError, text, flags);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(response.status, `http_${response.status}`, text || response.statusText);
    }
  }
}

/** How a connection that was made breaks: the registry was reached, so it is not unreachable. */
const CONNECTION_LOST = new Set(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The registry's error body. */
interface RegistryError {
  error?: string;
  message?: string;
  details?: { fields?: FieldError[] };
}

/** The registry's error answer as an ApiError, with the fields the request took from flags named by them. */
function refusal(status: number, body: RegistryError, text: string, flags: FlagNames | undefined): ApiError {
  const code = body.error ?? `http_${status}`;
  const message = body.message ?? text;
  const fields = body.details?.fields;
  if (!flags || !Array.isArray(fields)) return new ApiError(status, code, message, body.details);
  const named = nameFlags(message, fields, flags);
  return new ApiError(status, code, named.message, { ...body.details, fields: named.fields });
}
