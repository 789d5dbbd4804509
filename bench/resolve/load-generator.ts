import { connect, type Socket } from 'node:net';
import { percentile } from '@gatehouse/onnx';

export interface LoadOptions {
  port: number;
  connections: number;
  seconds: number;
  /** Raw HTTP/1.1 requests (keep-alive), sent in turn on every connection. */
  requests: Buffer[];
  /** Checks one response body per connection; throws if it is not what the server should answer. */
  check(body: Buffer): void;
}

export interface LoadResult {
  responses: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses with a status other than 200. */
  errors: number;
}

/**
 * A closed-loop load generator: each connection sends a request, waits for
 * the whole response, sends the next. Raw sockets and a minimal parser keep
 * the generator's own cost low and identical for every server it measures.
 */
export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const stopAt = started + BigInt(Math.round(options.seconds * 1e9));
  let lastResponse = started;
  await Promise.all(
    Array.from(
      { length: options.connections },
      (_, connection) =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(options.port, '127.0.0.1');
          socket.setNoDelay(true);
          let next = connection;
          let sentAt = 0n;
          let checked = false;
          const send = () => {
            sentAt = process.hrtime.bigint();
            socket.write(options.requests[next++ % options.requests.length]);
          };
          readResponses(socket, (status, body) => {
            const now = process.hrtime.bigint();
            latencies.push(Number(now - sentAt) / 1e6);
            lastResponse = now;
            if (status !== 200) errors++;
            else if (!checked) {
              options.check(body);
              checked = true;
            }
            if (now < stopAt) send();
            else socket.end(resolve);
          });
          socket.once('connect', send);
          socket.once('error', reject);
        }),
    ),
  );
  latencies.sort((a, b) => a - b);
  const seconds = Number(lastResponse - started) / 1e9;
  return {
    responses: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}

/** Calls back once per complete response; only Content-Length bodies, which both servers measured here send. */
function readResponses(socket: Socket, onResponse: (status: number, body: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const headerEnd = pending.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = pending.toString('latin1', 0, headerEnd);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) {
        socket.destroy(new Error(`a response without Content-Length: ${head.split('\r\n')[0]}`));
        return;
      }
      const end = headerEnd + 4 + Number(length[1]);
      if (pending.length < end) return;
      const body = pending.subarray(headerEnd + 4, end);
      pending = pending.subarray(end);
      onResponse(Number(head.slice(9, 12)), body);
    }
  });
}
