import { applyDecorators, Controller, Get, Res, type Type } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '@gatehouse/auth';
import type { MetricsAuth } from '@gatehouse/config';
import { MetricsService } from '@gatehouse/metrics';
import { ApiErrors } from '@gatehouse/openapi';

/**
 * `GET /metrics`, the Prometheus exposition. A class per registry, because
 * whether it asks a token is that registry's METRICS_AUTH: `token` leaves it
 * to the auth guard (any valid token, whatever its roles), `open` marks it
 * public. Marking one shared class would change every registry in the process.
 */
export function metricsController(auth: MetricsAuth): Type<unknown> {
  @ApiTags('metrics')
  @Controller('metrics')
  class MetricsController {
    constructor(private readonly metrics: MetricsService) {}

    @Get()
    @ApiOperation({
      summary: `Prometheus metrics in the text exposition format; ${auth === 'open' ? 'no token needed (METRICS_AUTH=open)' : 'any valid token (METRICS_AUTH=token)'}`,
    })
    @ApiOkResponse({ description: 'The exposition', content: { 'text/plain': { schema: { type: 'string' } } } })
    async scrape(@Res({ passthrough: true }) response: Response): Promise<string> {
      response.type(this.metrics.contentType);
      return this.metrics.exposition();
    }
  }
  // The queue depth is read from the database at each scrape, and a token is looked up there too.
  if (auth === 'open') applyDecorators(Public(), ApiErrors(503))(MetricsController);
  else applyDecorators(ApiBearerAuth(), ApiErrors(401, 503))(MetricsController);
  return MetricsController;
}
