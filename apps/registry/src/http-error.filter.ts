import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { isConnectionFailure } from '@gatehouse/database';
import { DomainError, type ErrorKind } from '@gatehouse/errors';

const STATUS_OF: Record<ErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  integrity: HttpStatus.INTERNAL_SERVER_ERROR,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const REFUSED_BODY_LINGER_MS = 1000;

/** Reads and drops the rest of a request body, up to `limit` bytes. */
function discardBody(request: Request, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      request.off('data', count);
      request.pause();
      resolve();
    };
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) done();
    };
    request.on('data', count);
    request.once('end', done);
    request.once('close', done);
    request.once('error', done);
    request.resume();
  });
}

/**
 * A body refused for its size is too large by definition: answer at once, without waiting for any of it (the
 * client may wait for this answer before it sends a byte), then close. The answer is written on the socket
 * itself: Node destroys a socket as soon as a `Connection: close` answer is flushed, and a socket destroyed while
 * bytes still arrive is reset, which a client still sending (fetch, our CLI) reports instead of the answer. So:
 * the answer saying `Connection: close` (a keep-alive client would otherwise reuse the socket), a half-close,
 * and what still arrives read and dropped for a moment before the socket goes.
 */
function answerThenClose(request: Request, response: Response, body: ErrorBody): void {
  const json = JSON.stringify(body);
  // For the request log, which reads the status when the response closes.
  response.statusCode = body.statusCode;
  request.socket.end(
    `HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode]}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`,
  );
  request.resume();
  setTimeout(() => request.socket.destroy(), REFUSED_BODY_LINGER_MS).unref();
}

/** The one JSON error body: `{ statusCode, error: code, message, details? }`. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: unknown;
}

/** Maps every error to its status and body; unknown errors are logged and become a bare 500. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const body = this.toBody(exception, request);

    if (response.headersSent) {
      // Bytes are already on the wire (a streamed download): cutting the connection is the only honest signal left.
      this.logger.error(`${request.method} ${request.originalUrl} failed mid-response: ${body.message}`);
      response.destroy();
      return;
    }
    if (request.complete) {
      response.status(body.statusCode).json(body);
      return;
    }
    if (body.statusCode === (HttpStatus.PAYLOAD_TOO_LARGE as number)) {
      answerThenClose(request, response, body);
      return;
    }
    // An upload refused before its body was read. Most clients only read the answer once they have sent
    // everything, so take a bounded amount more; past that, answer and close rather than drain gigabytes.
    response.setHeader('Connection', 'close');
    void discardBody(request, DRAIN_LIMIT_BYTES).then(() => response.status(body.statusCode).json(body));
  }

  private toBody(exception: unknown, request: Request): ErrorBody {
    if (exception instanceof DomainError) {
      const statusCode = STATUS_OF[exception.kind];
      if (statusCode >= 500) this.logger.error(`${request.method} ${request.originalUrl}: ${exception.message}`);
      return { statusCode, error: exception.code, message: exception.message, details: exception.details };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const detail = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const message = typeof detail === 'string' ? detail : Array.isArray(detail) ? detail.join(',') : exception.message;
      return { statusCode, error: codeOfStatus(statusCode), message };
    }
    if (isConnectionFailure(exception)) {
      this.logger.error(`database unavailable: ${(exception as Error).message}`);
      return { statusCode: 503, error: 'database_unavailable', message: 'the database is unavailable; try again shortly' };
    }
    this.logger.error(`${request.method} ${request.originalUrl}: ${(exception as Error)?.stack ?? String(exception)}`);
    return { statusCode: 500, error: 'internal_error', message: 'internal server error' };
  }
}

function codeOfStatus(status: number): string {
  const name = HttpStatus[status];
  return name ? name.toLowerCase() : `http_${status}`;
}
