/**
 * The console's only way to the registry: its public REST API under /v1, with the signed-in user's token.
 * The token is held in session storage (gone when the tab closes); a 401 signs the user out, and the app
 * returns to the sign-in page.
 */
const TOKEN_KEY = 'gatehouse.token';
export const SIGNED_OUT_EVENT = 'gatehouse:signed-out';

export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
}

/** An answer other than 2xx, with the registry's own error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GET `path` (under /v1) with `token` or the signed-in user's: the answer when it is a 2xx, else an ApiError with the
 * registry's code and message. A 401 for the signed-in user's token signs them out.
 */
async function fetchFromRegistry(path: string, token: string | null, accept: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  } catch (error) {
    throw new ApiError(0, 'unreachable', `the registry did not answer: ${(error as Error).message}`);
  }
  if (response.ok) return response;
  const problem = ((await response.json().catch(() => null)) ?? {}) as { error?: string; message?: string };
  if (response.status === 401 && token === currentToken()) signOut();
  throw new ApiError(response.status, problem.error ?? `http_${response.status}`, problem.message ?? `the registry answered ${response.status}`);
}

/** GET `path` (under /v1) as JSON, with `token` or the signed-in user's. */
export async function getJson<T>(path: string, token = currentToken()): Promise<T> {
  return (await (await fetchFromRegistry(path, token, 'application/json')).json()) as T;
}

/** `path` with the query's defined values, encoded. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams(Object.entries(query).flatMap(([key, value]) => (value === undefined || value === '' ? [] : [[key, String(value)]])));
  const encoded = params.toString();
  return encoded ? `${path}?${encoded}` : path;
}

export const modelPath = (name: string, ...rest: string[]) => ['/v1/models', name, ...rest].map((part, index) => (index === 0 ? part : encodeURIComponent(part))).join('/');

/**
 * Saves a file the API serves behind the token: a plain link would carry no Authorization header, so the bytes are
 * fetched here and handed to the browser as a download.
 */
export async function downloadFile(path: string, filename: string): Promise<void> {
  const response = await fetchFromRegistry(path, currentToken(), '*/*');
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  link.click();
  URL.revokeObjectURL(url);
}
