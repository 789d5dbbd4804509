import type { NextFunction, Request, Response } from 'express';
import type { MetricsService } from '@gatehouse/metrics';

/**
 * Times every request Express sees, from before any screening to the
 * response's end, and records it under the template of the route that
 * matched (Express's `request.route.path`), never the URL.
 */
export function recordHttpMetrics(metrics: MetricsService) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    response.once('close', () => {
      const route = (request.route as { path?: unknown } | undefined)?.path;
      metrics.httpRequest({
        method: request.method,
        route: typeof route === 'string' ? route : undefined,
        statusCode: response.statusCode,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
    next();
  };
}
