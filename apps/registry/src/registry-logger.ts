import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { AppConfig } from '@gatehouse/config';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Nest's own start-up lines, one per module and per route: there at LOG_LEVEL=debug, not in an ordinary start. */
const NEST_START_UP_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * Every line on stderr, whatever its level: stdout carries only what a person must read there, the admin token's
 * banner, so `npm start 2>/dev/null` shows it alone and `npm start >/dev/null` the logs alone.
 */
class RegistryLogger extends ConsoleLogger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (typeof context === 'string' && NEST_START_UP_CONTEXTS.has(context)) super.debug(message, ...optionalParams);
    else super.log(message, ...optionalParams);
  }

  /** In text, a structured line (the request log's) reads `key=value …` on its one line; JSON keeps it an object. */
  protected override stringifyMessage(message: unknown, logLevel: LogLevel): unknown {
    if (message === null || typeof message !== 'object' || Object.getPrototypeOf(message) !== Object.prototype) return super.stringifyMessage(message, logLevel);
    const fields = Object.entries(message).filter(([, value]) => value !== undefined);
    return this.colorize(fields.map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' '), logLevel);
  }

  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, _stream?: 'stdout' | 'stderr', errorStack?: unknown): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

/** The registry's one logger, Nest's and every lib's `new Logger(context)`: text on a terminal, JSON lines otherwise, unless LOG_FORMAT says which. */
export function createLogger(config: Pick<AppConfig, 'logLevel' | 'logFormat'>): ConsoleLogger {
  const format = config.logFormat ?? (process.stderr.isTTY ? 'text' : 'json');
  return new RegistryLogger({
    json: format === 'json',
    colors: format === 'text' && process.stderr.isTTY === true,
    logLevels: LEVELS.slice(0, LEVELS.indexOf(config.logLevel) + 1),
  });
}
