import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { CommandContext } from './command-context';
import { ApiError, apiPath } from './gatehouse-client';
import { formatBytes, formatFields } from './output';
import { parseDatasetVersion, UsageError } from './references';

interface Dataset {
  name: string;
  version: string;
  description: string | null;
  sha256: string | null;
  size: number | null;
  uri: string | null;
  stored: boolean;
  createdBy: string;
  createdAt: string;
}

/** datasets add (hash, declare, upload: what a version's --dataset then names) and datasets show. */
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
      const absolute = resolve(cwd, file);
      const size = await stat(absolute).then(
        (found) => found.size,
        (error: Error) => {
          throw new UsageError(`cannot read ${file}: ${error.message}`);
        },
      );
      const { sha256OfFile } = await import('./local-files');
      const sha256 = await sha256OfFile(absolute);
      const api = await client();
      const base = `/v1/datasets/${apiPath(options.name, options.version)}`;
      const existing = await api.post<Dataset>('/v1/datasets', { name: options.name, version: options.version, sha256, description: options.description, uri: options.uri }).then(
        () => null,
        async (error: unknown) => {
          if (!(error instanceof ApiError && error.code === 'dataset_exists')) throw error;
          return api.get<Dataset>(base);
        },
      );
      // Re-running after an interrupted upload finishes it; different bytes under the same name and version never replace the first.
      if (existing && existing.sha256 !== sha256) {
        throw new Error(`${options.name}@${options.version} is already registered with sha256 ${existing.sha256}; this file is ${sha256}`);
      }
      const dataset = existing?.stored
        ? existing
        : await api.upload<Dataset>(`${base}/file`, createReadStream(absolute), { 'x-content-sha256': sha256, 'content-length': String(size) });
      print(
        dataset,
        () => `${existing?.stored ? 'already registered' : 'registered'} ${dataset.name}@${dataset.version}: ${formatBytes(dataset.size)}, sha256:${dataset.sha256}\n`,
      );
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
}
