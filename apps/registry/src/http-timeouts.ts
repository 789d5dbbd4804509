import type { Server } from 'node:http';

/**
 * An idle keep-alive socket is closed after this. Longer than clients and load balancers keep theirs (undici
 * 4 s, AWS ALB 60 s), so the client always closes first: closed by the server first, a socket the client is
 * reusing at that moment answers its request with a reset.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Headers must arrive within this; a slow-loris client is cut here, whatever the idle timeout. Above the keep-alive timeout, as Node wants it. */
const HEADERS_TIMEOUT_MS = 66_000;

/**
 * Times requests out on idleness, not on their total time: a 20 GiB upload
 * may take hours as long as its bytes keep coming. Node's 300 s
 * `requestTimeout` is off; a socket quiet for `idleTimeoutMs` is cut while
 * its request body is still arriving. Once a request has been received in
 * full, finishing it (a long re-hash, a download to a slow reader) is the
 * server's business, as before. Idle keep-alive sockets are closed after
 * KEEP_ALIVE_TIMEOUT_MS.
 */
export function timeOutIdleRequests(server: Server, idleTimeoutMs: number): void {
  server.requestTimeout = 0;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.timeout = idleTimeoutMs;
  server.on('request', (request, response) => {
    // Node emits 'timeout' on the request only while it is incomplete, and destroys the socket when nothing listens.
    request.on('timeout', () => request.destroy());
    response.on('timeout', keepReceivedRequest);
  });
}

function keepReceivedRequest(): void {
  // Listening is the decision: a received request's socket is not destroyed for idleness.
}
