import type { Command } from 'commander';
import type { Model } from './api-types';
import type { CommandContext } from './command-context';
import { formatTable } from './output';
import { collect } from './references';
import { addScanAllowanceCommands } from './scan-allowance-commands';

/** models create, list, and what a model's artifact scan allows. */
export function addModelCommands(program: Command, context: CommandContext): void {
  const { client, print } = context;
  const models = program.command('models').description('create and list models, and what their artifact scan allows');
  models
    .command('create')
    .argument('<name>')
    .option('--description <text>')
    .option('--owner <owner>')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .action(async (name: string, options: { description?: string; owner?: string; tag: string[] }) => {
      const model = await (
        await client()
      ).post<Model>('/v1/models', {
        name,
        description: options.description,
        owner: options.owner,
        tags: options.tag,
      });
      print(model, () => `created model ${model.name}\n`);
    });

  models
    .command('list')
    .option('--search <text>')
    .option('--tag <tag>')
    .option('--limit <n>', 'page size', '50')
    .option('--all', 'follow every page')
    .action(async (options: { search?: string; tag?: string; limit: string; all?: boolean }) => {
      const items = await (await client()).list<Model>('/v1/models', { search: options.search, tag: options.tag, limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(
          ['NAME', 'OWNER', 'TAGS', 'CREATED BY', 'CREATED'],
          items.map((m) => [m.name, m.owner, m.tags.join(','), m.createdBy, m.createdAt]),
        ),
      );
    });

  addScanAllowanceCommands(models, context);
}
