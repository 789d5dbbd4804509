import type { Command } from 'commander';
import { configPath, readCliConfig, resolveConnection, writeCliConfig } from './cli-config';
import type { CommandContext } from './command-context';
import { GatehouseClient } from './gatehouse-client';
import { formatFields } from './output';
import { UsageError } from './references';

/** login (check and save a connection) and config show. */
export function addConnectionCommands(program: Command, { io, globals, print }: CommandContext): void {
  program
    .command('login')
    .description('check --url and --token against the registry and save them')
    .action(async () => {
      const { url, token } = globals();
      if (!url || !token) throw new UsageError('login needs --url URL --token TOKEN');
      const me = await new GatehouseClient(url, token).get<{ name: string; roles: string[] }>('/v1/tokens/current');
      const file = configPath(io.env);
      await writeCliConfig(file, { url, token });
      print(me, () => `logged in to ${url} as ${me.name} (${me.roles.join(', ')}); saved to ${file}\n`);
    });

  program
    .command('config')
    .description('show the connection settings in use (token masked)')
    .argument('[action]', 'show', 'show')
    .action(async () => {
      const connection = resolveConnection(globals(), io.env, await readCliConfig(configPath(io.env)));
      const masked = connection.token ? maskToken(connection.token) : null;
      print({ url: connection.url, token: masked, file: configPath(io.env) }, () =>
        formatFields([
          ['url', connection.url],
          ['token', masked],
          ['file', configPath(io.env)],
        ]),
      );
    });
}

function maskToken(token: string): string {
  return token.length > 16 ? `${token.slice(0, 6)}…${token.slice(-4)}` : '…';
}
