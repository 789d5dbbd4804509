import type { Command } from 'commander';
import type { Model } from './api-types';
import type { CommandContext } from './command-context';
import { formatFields, formatTable } from './output';
import { clearable, collect, UsageError } from './references';
import { addScanAllowanceCommands } from './scan-allowance-commands';

/** models create, list, show, edit, and what a model's artifact scan allows. */
export function addModelCommands(program: Command, context: CommandContext): void {
  const { client, print } = context;
  const models = program.command('models').description('create, list, show and edit models, and what their artifact scan allows');
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

  models
    .command('show')
    .argument('<name>')
    .action(async (name: string) => {
      const model = await (await client()).get<Model>(`/v1/models/${encodeURIComponent(name)}`);
      print(model, () => describeModel(model));
    });

  models
    .command('edit')
    .description("change a model's description, owner or tags; every change is audited")
    .argument('<name>')
    .option('--description <text>', 'the new description ("" clears it)')
    .option('--owner <owner>', 'the new owner ("" clears it)')
    .option('--tag <tag>', 'a tag (repeatable); the tags given replace all of them', collect)
    .option('--no-tags', 'remove every tag')
    .action(async (name: string, options: { description?: string; owner?: string; tag?: string[]; tags: boolean }) => {
      const patch = {
        description: clearable(options.description),
        owner: clearable(options.owner),
        tags: options.tags ? options.tag : [],
      };
      if (Object.values(patch).every((value) => value === undefined)) throw new UsageError('nothing to change: give --description, --owner, --tag or --no-tags');
      const model = await (await client()).patch<Model>(`/v1/models/${encodeURIComponent(name)}`, patch, { description: '--description', owner: '--owner', tags: '--tag' });
      print(model, () => describeModel(model));
    });

  addScanAllowanceCommands(models, context);
}

function describeModel(model: Model): string {
  return formatFields([
    ['model', model.name],
    ['description', model.description],
    ['owner', model.owner],
    ['tags', model.tags.join(', ') || null],
    ['created', `${model.createdAt} by ${model.createdBy}`],
    ['updated', model.updatedAt],
  ]);
}
