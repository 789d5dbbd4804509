import type { Command } from 'commander';
import type { Alias, AliasList } from './api-types';
import type { CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import { formatTable } from './output';
import { parseVersionRef } from './references';

/** alias set, rm and list: named pointers to versions, which `model@alias` then names anywhere a version is taken. */
export function addAliasCommands(program: Command, { client, print }: CommandContext): void {
  const alias = program.command('alias').description('named pointers to versions (champion, challenger…): labels that never bypass gates');
  alias
    .command('set')
    .description('point ALIAS at MODEL@VERSION, creating or moving it; audited')
    .argument('<model@version>')
    .argument('<alias>')
    .action(async (ref: string, name: string) => {
      const { model, version } = parseVersionRef(ref);
      const set = await (await client()).putJson<Alias>(`/v1/models/${apiPath(model, 'aliases', name)}`, { version });
      print(set, () => `${set.model}@${set.alias} → ${set.version}\n`);
    });
  alias
    .command('rm')
    .description('remove an alias; audited')
    .argument('<model>')
    .argument('<alias>')
    .action(async (model: string, name: string) => {
      const removed = await (await client()).delete<Alias>(`/v1/models/${apiPath(model, 'aliases', name)}`);
      print(removed, () => `${removed.model}@${removed.alias} removed (it pointed at ${removed.version})\n`);
    });
  alias
    .command('list')
    .argument('<model>')
    .action(async (model: string) => {
      const list = await (await client()).get<AliasList>(`/v1/models/${apiPath(model, 'aliases')}`);
      print(list, () =>
        formatTable(
          ['ALIAS', 'VERSION', 'SET BY', 'SET AT', 'PROTECTED'],
          list.items.map((item) => [item.alias, item.version, item.setBy, item.setAt, item.protected ? 'yes' : 'no']),
        ),
      );
    });
}
