import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const logger = new Logger('HTTP');

export interface RequestLogLine {
  method: string | undefined;
  path: string | undefined;
  status: number;
  durationMs: number;
  actor: string | undefined;
  completed: boolean;
}

/** One structured line per request: the middleware's, and the raw server's for what it answers ahead of Express. */
export function logRequest(line: RequestLogLine): void {
  logger.log({ ...line, durationMs: Math.round(line.durationMs * 100) / 100 });
}

/** Logs each request Express handles when its response is done. */
@Injectable()
export class RequestLogger implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const principal = (request as Request & { principal?: { name: string } }).principal;
      logRequest({
        method: request.method,
        path: request.originalUrl,
        status: response.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        actor: principal?.name,
        completed: response.writableFinished,
      });
    });
    next();
  }
}
