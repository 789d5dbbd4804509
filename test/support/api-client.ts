import { request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A thin fetch wrapper: JSON in and out, raw bytes for file routes. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  withToken(token: string): ApiClient {
    return new ApiClient(this.baseUrl, token);
  }

  get<T = any>(path: string): Promise<ApiResponse<T>> {
    return this.request('GET', path);
  }

  post<T = any>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request('POST', path, body === undefined ? undefined : JSON.stringify(body), {
      'content-type': 'application/json',
    });
  }

  patch<T = any>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.request('PATCH', path, JSON.stringify(body), { 'content-type': 'application/json' });
  }

  /** PUT with a JSON body; {@link put} sends bytes. */
  putJson<T = any>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.request('PUT', path, JSON.stringify(body), { 'content-type': 'application/json' });
  }

  delete<T = any>(path: string): Promise<ApiResponse<T>> {
    return this.request('DELETE', path);
  }

  put<T = any>(path: string, body: Buffer | Readable | string, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    return this.request('PUT', path, body, { 'content-type': 'application/octet-stream', ...headers });
  }

  /** Raw request: for bodies a well-behaved client would never send. */
  async request<T = any>(method: string, path: string, body?: Buffer | Readable | string, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers },
      body: body as RequestInit['body'],
      ...(body && typeof body !== 'string' && !Buffer.isBuffer(body) ? { duplex: 'half' } : {}),
    });
    const type = response.headers.get('content-type') ?? '';
    const parsed = type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  /** Sends the path byte for byte: fetch would normalise "." and ".." segments away before they reach the server. */
  verbatim(method: string, path: string, body: Buffer): Promise<ApiResponse> {
    const url = new URL(this.baseUrl);
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: {
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            'content-type': 'application/octet-stream',
            'content-length': String(body.length),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks);
            const json = (response.headers['content-type'] ?? '').includes('json');
            resolve({ status: response.statusCode ?? 0, headers: new Headers(response.headers as Record<string, string>), body: json ? JSON.parse(text.toString()) : text });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Starts an upload that promises `declaredLength` bytes, sends `sent` of them, then drops the connection. */
  abandonUpload(path: string, sent: Buffer, declaredLength: number): Promise<void> {
    const url = new URL(this.baseUrl);
    return new Promise((resolve) => {
      const request = httpRequest({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          'content-type': 'application/octet-stream',
          'content-length': String(declaredLength),
        },
      });
      request.on('error', () => resolve());
      request.write(sent, () =>
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 100),
      );
    });
  }
}
