import type { Writable } from 'node:stream';
import { CommanderError, type Command } from 'commander';
import { configPath, readCliConfig, resolveConnection } from './cli-config';
import { ApiError, GatehouseClient } from './gatehouse-client';

export interface CliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Where relative paths on the command line start; the process's working directory by default. */
  cwd?: string;
}

/** The options given before the command: `gatehouse --json --url … versions show …`. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** What every command group works with. */
export interface CommandContext {
  io: CliIo;
  /** Where relative paths on the command line start. */
  cwd: string;
  globals: () => GlobalOptions;
  /** A client for the connection in use: the flags, then $GATEHOUSE_URL and $GATEHOUSE_TOKEN, then the saved file. */
  client: () => Promise<GatehouseClient>;
  /** Writes `json` as JSON under --json, else the text `human` renders. */
  print: (json: unknown, human: () => string) => void;
}

/** How often `--wait` asks the registry again. */
export const POLL_INTERVAL_MS = 500;

export function commandContext(program: Command, io: CliIo): CommandContext {
  const globals = () => program.opts<GlobalOptions>();
  return {
    io,
    cwd: io.cwd ?? process.cwd(),
    globals,
    client: async () => {
      const connection = resolveConnection(globals(), io.env, await readCliConfig(configPath(io.env)));
      return new GatehouseClient(connection.url, connection.token);
    },
    print: (json, human) => io.stdout.write(globals().json ? `${JSON.stringify(json, null, 2)}\n` : human()),
  };
}

/**
 * Ends a command with an exit code: 2 for a usage mistake, printed as `usage: …`;
 * 1 for a failure, printed as `error: …`, or not at all when the command has
 * already printed why (a refused gate, a failed verification).
 */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/** Prints why a command failed and returns its exit code: 2 when the registry was unreachable or refused the token, as for a usage mistake. */
export function reportFailure(error: unknown, stderr: Writable): number {
  // Commander has printed its own message.
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof ExitError) {
    if (error.message) stderr.write(`${error.exitCode === 2 ? 'usage' : 'error'}: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ApiError) {
    stderr.write(`error ${error.code}: ${error.message}\n`);
    const fields = (error.details as { fields?: { field: string; errors: string[] }[] } | undefined)?.fields;
    for (const field of fields ?? []) stderr.write(`  ${field.field}: ${field.errors.join('; ')}\n`);
    const connection = connectionAdvice(error);
    if (!connection) return 1;
    stderr.write(`${connection}\n`);
    return 2;
  }
  stderr.write(`error: ${(error as Error).message}\n`);
  return 1;
}

/** What to do when the registry could not be reached or did not take the token: the command never got to ask its question. */
function connectionAdvice(error: ApiError): string | undefined {
  if (error.code === 'unreachable') return 'Is the registry running at that address? Give its URL with --url, $GATEHOUSE_URL or gatehouse login.';
  if (error.status === 401) return 'Give a valid API token with --token, $GATEHOUSE_TOKEN or gatehouse login (gatehouse tokens create mints one).';
  return undefined;
}
