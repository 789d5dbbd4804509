import type { Command } from 'commander';
import type { Token } from './api-types';
import type { CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import { formatTable } from './output';
import { collect } from './references';

/** tokens create, list and revoke. */
export function addTokenCommands(program: Command, { client, print, io }: CommandContext): void {
  const tokens = program.command('tokens').description('API tokens (admin)');
  tokens
    .command('create')
    .argument('<name>')
    .requiredOption('--role <role>', 'a role (repeatable): admin, ml_engineer, data_scientist, approver, reader, reporter (serving systems: telemetry only)', collect, [])
    .option('-q, --quiet', 'print only the secret, as in CI_TOKEN=$(gatehouse tokens create ci --role ml_engineer --quiet)')
    .action(async (name: string, options: { role: string[]; quiet?: boolean }) => {
      const token = await (await client()).post<Token>('/v1/tokens', { name, roles: options.role });
      if (options.quiet) io.stdout.write(`${token.token}\n`);
      else print(token, () => `created token ${token.name} (${token.roles.join(', ')}); the secret is shown only now:\n${token.token}\n`);
    });
  tokens.command('list').action(async () => {
    const list = await (await client()).get<Token[]>('/v1/tokens');
    print(list, () =>
      formatTable(
        ['ID', 'NAME', 'ROLES', 'CREATED', 'LAST USED', 'REVOKED'],
        list.map((t) => [t.id, t.name, t.roles.join(','), t.createdAt, t.lastUsedAt, t.revokedAt]),
      ),
    );
  });
  tokens
    .command('revoke')
    .argument('<id>')
    .action(async (id: string) => {
      const token = await (await client()).post<Token>(`/v1/tokens/${apiPath(id)}/revoke`);
      print(token, () => `revoked token ${token.name}\n`);
    });
}
