import { Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** One structured line per request, written when the response is done. */
@Injectable()
export class RequestLogger implements NestMiddleware {
  private readonly logger = new Logger('HTTP');

  use(request: Request, response: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const principal = (request as Request & { principal?: { name: string } }).principal;
      this.logger.log({
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
