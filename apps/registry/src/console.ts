import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';

/** Where the build writes the console (dist/console), whether this file runs from dist/ or, under ts-jest, from source. */
export function consoleDirectory(): string {
  const root = resolve(__dirname, '../../..');
  return basename(root) === 'dist' ? join(root, 'console') : join(root, 'dist', 'console');
}

/** Paths the console's page never answers for: the API, its documents, and what probes and scrapers read. */
const SERVER_PATHS = ['/v1', '/docs', '/metrics', '/health'];

/**
 * The console's own files strictly from the page's origin: it loads no script, style or font from anywhere else,
 * talks only to this registry, and is never framed.
 */
const CONSOLE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Serves the web console, built into `directory` by the normal build, at `/`: its hashed assets as static files,
 * and its page for every other GET that asks for HTML outside the server's own paths, so that a deep link such as
 * /models/fraud reloads into the same page. Without a build there is no console, which the log says once.
 */
export function serveConsole(app: NestExpressApplication, directory = consoleDirectory()): void {
  const page = join(directory, 'index.html');
  if (!existsSync(page)) {
    new Logger('Console').warn(`no web console at ${directory}: npm run build builds it`);
    return;
  }
  // Asset names carry their content's hash: they never change, so browsers may keep them.
  app.use('/assets', express.static(join(directory, 'assets'), { immutable: true, maxAge: '1y', index: false, fallthrough: false }));
  app.use((request: Request, response: Response, next: NextFunction) => {
    const serverPath = SERVER_PATHS.some((prefix) => request.path === prefix || request.path.startsWith(`${prefix}/`));
    if ((request.method !== 'GET' && request.method !== 'HEAD') || serverPath || !request.accepts('html')) return next();
    response.setHeader('content-security-policy', CONSOLE_POLICY);
    response.setHeader('cache-control', 'no-cache');
    response.sendFile(page);
  });
}
