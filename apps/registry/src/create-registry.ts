import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import type { AppConfig } from '@gatehouse/config';
import { MetricsService } from '@gatehouse/metrics';
import { RESOLVE_ROUTE, ResolveEndpoint } from '@gatehouse/promotion';
import { serveConsole } from './console';
import { HttpErrorFilter } from './http-error.filter';
import { recordHttpMetrics } from './http-metrics.middleware';
import { timeOutIdleRequests } from './http-timeouts';
import { RegistryModule } from './registry.module';
import { createLogger } from './registry-logger';
import { logRequest } from './request-logger.middleware';
import { hasEncodedNul, readJsonBodies, refuseNulInUrl, refuseOversizedUploads } from './request-screening';
import { createValidationPipe } from './validation';

/** The configured registry application, not yet listening: shared by main and the e2e suites. */
export async function createRegistry(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(RegistryModule.forRoot(config), {
    bodyParser: false,
    abortOnError: false,
    logger: createLogger(config),
  });
  app.use(recordHttpMetrics(app.get(MetricsService)));
  app.use(refuseNulInUrl);
  app.use(refuseOversizedUploads(config.maxFileSize));
  app.use(readJsonBodies(config.maxJsonBodySize));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  app.disable('x-powered-by');

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gatehouse')
      .setDescription('Model registry with promotion gates')
      .setVersion('v1')
      // Tokens are random secrets looked up by their hash, not JWTs: nothing in them is meant to be decoded.
      // Nest fills in bearerFormat JWT unless it is given, so it is given as absent.
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: undefined,
        description: 'an opaque API token, minted by POST /v1/tokens (or printed once at first start for the admin)',
      })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  serveConsole(app);
  answerResolveFirst(app);
  timeOutIdleRequests(app.getHttpServer(), config.httpIdleTimeoutSeconds * 1000);
  return app;
}

/**
 * Resolve requests go to {@link ResolveEndpoint} before Express; what it leaves (errors included) goes on to Express,
 * and so does a URL holding a NUL, which only Express's screening may answer.
 */
function answerResolveFirst(app: INestApplication): void {
  const server = app.getHttpServer() as Server;
  const [express, ...others] = server.listeners('request') as RequestListener[];
  if (!express || others.length > 0) throw new Error(`expected Express as the HTTP server's one request listener, found ${server.listenerCount('request')}`);
  const resolve = app.get(ResolveEndpoint);
  const metrics = app.get(MetricsService);
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response) => {
    if (hasEncodedNul(request.url)) return express(request, response);
    const started = process.hrtime.bigint();
    resolve.handle(request, response, {
      answered: (actor) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        logRequest({ method: request.method, path: request.url, status: 200, durationMs: seconds * 1000, actor, completed: true });
        metrics.httpRequest({ method: request.method, route: RESOLVE_ROUTE, statusCode: 200, seconds });
      },
      declined: () => express(request, response),
    });
  });
}
