import type { Server } from 'node:http';

/** Headers must arrive within this; a slow-loris client is cut here, whatever the idle timeout. */
const HEADERS_TIMEOUT_MS = 60_000;

/**
 * Times requests out on idleness, not on their total time: a 20 GiB upload
 * may take hours as long as its bytes keep coming. Node's 300 s
 * `requestTimeout` is off; a socket quiet for `idleTimeoutMs` is cut while
 * its request body is still arriving. Once a request has been received in
 * full, finishing it (a long re-hash, a download to a slow reader) is the
 * server's business, as before. Idle keep-alive sockets keep Node's own
 * `keepAliveTimeout`.
 */
export function timeOutIdleRequests(server: Server, idleTimeoutMs: number): void {
  server.requestTimeout = 0;
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
