import { resolve } from 'node:path';
import { Command } from 'commander';
import type { CommandContext } from './command-context';
import type { Dataset } from './api-types';
import { apiPath } from './gatehouse-client';
import { formatBytes, formatFields, formatTable } from './output';
import { parseDatasetVersion } from './references';

/** datasets add (hash, declare, upload: what a version's --dataset then names), show, list and delete. */
export function addDatasetCommands(program: Command, { client, print, cwd }: CommandContext): void {
  const datasets = program.command('datasets').description('register the datasets versions are trained and evaluated on');
  datasets
    .command('add')
    .description('register a dataset file under its SHA-256 and upload it, so gates can evaluate on it')
    .argument('<file>', 'the dataset, e.g. JSON Lines {"inputs": {...}, "label": ...} for evaluation')
    .requiredOption('--name <name>')
    .requiredOption('--version <version>')
    .option('--description <text>')
    .option('--uri <uri>', 'where the data lives upstream, e.g. s3://lake/transactions/2024-11')
    .action(async (file: string, options: { name: string; version: string; description?: string; uri?: string }) => {
      const { uploadDataset } = await import('./dataset-upload');
      const { dataset, alreadyStored } = await uploadDataset(await client(), resolve(cwd, file), file, options);
      print(dataset, () => `${alreadyStored ? 'already registered' : 'registered'} ${dataset.name}@${dataset.version}: ${formatBytes(dataset.size)}, sha256:${dataset.sha256}\n`);
    });

  datasets
    .command('show')
    .argument('<name@version>')
    .action(async (reference: string) => {
      const { name, version } = parseDatasetVersion(reference);
      const dataset = await (await client()).get<Dataset>(`/v1/datasets/${apiPath(name, version)}`);
      print(dataset, () =>
        formatFields([
          ['dataset', `${dataset.name}@${dataset.version}`],
          ['sha256', dataset.sha256],
          ['size', formatBytes(dataset.size)],
          ['stored', dataset.stored ? 'yes' : 'no'],
          ['uri', dataset.uri],
          ['description', dataset.description],
          ['created', `${dataset.createdAt} by ${dataset.createdBy}`],
        ]),
      );
    });

  datasets
    .command('list')
    .option('--search <text>', 'match on name or description')
    .option('--limit <n>', 'page size', '50')
    .option('--all', 'follow every page')
    .action(async (options: { search?: string; limit: string; all?: boolean }) => {
      const items = await (await client()).list<Dataset>('/v1/datasets', { search: options.search, limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(
          ['DATASET', 'SIZE', 'STORED', 'SHA-256', 'CREATED BY', 'CREATED'],
          items.map((d) => [`${d.name}@${d.version}`, formatBytes(d.size), d.stored ? 'yes' : 'no', d.sha256, d.createdBy, d.createdAt]),
        ),
      );
    });

  datasets
    .command('delete')
    .description('delete a dataset that no version names; its bytes go with the next blob collection')
    .argument('<name@version>')
    .action(async (reference: string) => {
      const { name, version } = parseDatasetVersion(reference);
      const deleted = await (await client()).delete<Dataset>(`/v1/datasets/${apiPath(name, version)}`);
      print(deleted, () => `deleted dataset ${deleted.name}@${deleted.version}\n`);
    });
}
