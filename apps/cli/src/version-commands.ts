import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { IoSchema } from '@gatehouse/gate-engine';
import type { Lineage, Version } from './api-types';
import { ExitError, type CommandContext } from './command-context';
import { DEFAULT_WAIT_SECONDS, endOnGate, followGateRun } from './gate-commands';
import { humanReport } from './gate-report-output';
import { apiPath } from './gatehouse-client';
import { lineageTree, renderTree, type TreeNode } from './lineage-tree';
import { formatBytes, formatFields, formatTable } from './output';
import { clearable, collect, parseTagAssignment, parseVersionRef, parseWholeNumber, UsageError } from './references';
import type { RegisterOptions } from './registration';

/** register, versions list and show, download. */
export function addVersionCommands(program: Command, context: CommandContext): void {
  const { client, print, globals, io, cwd } = context;
  program
    .command('register')
    .description('declare a version, upload its files with their SHA-256, and commit it')
    .argument('<dir-or-file>')
    .requiredOption('--model <name>')
    .requiredOption('--version <semver>')
    .addOption(new Option('--task <task>').choices(['classification', 'regression', 'generative', 'other']).default('other'))
    .option('--description <text>')
    .option('--metrics <file>', 'JSON file of metrics, e.g. {"val_accuracy": 0.93}')
    .option('--params <file>', 'JSON file of training parameters')
    .option('--environment <file>', 'JSON file describing the training environment')
    .option('--schema <file>', 'JSON file {inputs, outputs} of tensor specs')
    .option('--parent <model@version[:relation]>', 'a parent version (repeatable)', collect, [])
    .option('--dataset <name@version:role>', 'a dataset used (repeatable)', collect, [])
    .option(
      '--input-example <file>',
      'JSON Lines of complete feeds {"inputs": {...}} the gates run the model on; registered as the dataset <model>-input-examples with role example',
    )
    .option('--source-repo <url>')
    .option('--commit <sha>')
    .option('--run-id <id>')
    .option('--create-model', 'create the model first if it does not exist')
    .option('--sign <private.pem>', 'sign the uploaded files (OpenSSF Model Signing) and commit with the signature')
    .option('--signature <bundle>', 'commit with an existing signature bundle, e.g. model.sig from model_signing')
    .option('--certificate <chain.pem>', 'with --sign: sign as this certificate (then any intermediates)')
    .option('--resume', 'finish a version an earlier register left in pending_upload')
    .option('--wait', 'follow the registration gate until it decides, showing its progress on stderr; exit 1 if it rejects the version')
    .option('--timeout <seconds>', 'with --wait: give up after this long', DEFAULT_WAIT_SECONDS)
    .action(async (target: string, options: RegisterOptions & { wait?: boolean; timeout: string }) => {
      const timeoutMs = parseWholeNumber(options.timeout, '--timeout') * 1000;
      const { register } = await import('./registration');
      const api = await client();
      const committed = await register(api, target, options, context);
      const ref = `${committed.model}@${committed.version}`;
      const follow = `gatehouse gate ${ref} --wait`;
      if (!options.wait) {
        print(committed, () => describeRegistered(committed));
        io.stderr.write(`its registration gate is ${committed.gate?.status ?? 'queued'}: ${follow} follows it until it decides\n`);
        return;
      }
      if (!committed.gate) throw new ExitError(1, `the registry queued no registration gate for ${ref}`);
      const run = await followGateRun(api, committed.gate.runId, ref, io.stderr, timeoutMs);
      const version = await api.get<Version>(`/v1/models/${apiPath(committed.model, 'versions', committed.version)}`);
      print({ ...version, gateRun: run }, () => `${describeRegistered(version)}${run.report ? humanReport(run.report) : ''}`);
      endOnGate(run, ref, follow, options.timeout);
    });

  const versions = program.command('versions').description('list and show versions');
  versions
    .command('list')
    .argument('<model>')
    .option('--status <status>')
    .option('--tag <key=value|key>', 'only versions with this tag (repeatable: all must match)', collect, [])
    .option('--limit <n>', 'page size', '50')
    .option('--all', 'follow every page')
    .action(async (model: string, options: { status?: string; tag: string[]; limit: string; all?: boolean }) => {
      const items = await (
        await client()
      ).list<Version>(`/v1/models/${apiPath(model)}/versions`, { status: options.status, tag: options.tag, limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(
          ['VERSION', 'STATUS', 'STAGE', 'TASK', 'FILES', 'SIZE', 'CREATED BY', 'CREATED'],
          items.map((v) => [v.version, v.status, v.stage, v.task, v.fileCount, formatBytes(v.size), v.createdBy, v.createdAt]),
        ),
      );
    });

  versions
    .command('show')
    .argument('<model@version>')
    .action(async (ref: string) => {
      const { model, version } = parseVersionRef(ref);
      const shown = await (await client()).get<Version>(`/v1/models/${apiPath(model, 'versions', version)}`);
      print(shown, () => describeVersion(shown));
    });

  versions
    .command('abandon')
    .description('abandon a version still pending upload, with its files; a committed version stays')
    .argument('<model@version>')
    .action(async (ref: string) => {
      const { model, version } = parseVersionRef(ref);
      const abandoned = await (await client()).delete<{ model: string; version: string; files: unknown[] }>(`/v1/models/${apiPath(model, 'versions', version)}`);
      print(abandoned, () => `abandoned ${abandoned.model}@${abandoned.version} and its ${abandoned.files.length} file(s)\n`);
    });

  versions
    .command('edit')
    .description("change a version's description, at any status; audited (files, metrics, lineage and schema never change)")
    .argument('<model@version>')
    .requiredOption('--description <text>', 'the new description ("" clears it)')
    .action(async (ref: string, options: { description: string }) => {
      const { model, version } = parseVersionRef(ref);
      const edited = await (
        await client()
      ).patch<Version>(`/v1/models/${apiPath(model, 'versions', version)}`, { description: clearable(options.description) }, { description: '--description' });
      print(edited, () => describeVersion(edited));
    });

  program
    .command('tag')
    .description("set and remove a version's tags, at any status; every change is audited with the value it replaced")
    .argument('<model@version>')
    .argument('[key=value...]', 'tags to set')
    .option('--rm <key>', 'a tag to remove (repeatable)', collect, [])
    .action(async (ref: string, assignments: string[], options: { rm: string[] }) => {
      const { model, version } = parseVersionRef(ref);
      const tags: Record<string, string | null> = Object.fromEntries(assignments.map(parseTagAssignment));
      for (const key of options.rm) tags[key] = null;
      if (Object.keys(tags).length === 0) throw new UsageError('nothing to change: give key=value to set a tag, or --rm KEY to remove one');
      const tagged = await (await client()).patch<Version>(`/v1/models/${apiPath(model, 'versions', version)}`, { tags });
      print(tagged, () => `${describeTags(tagged)}\n`);
    });

  program
    .command('download')
    .description('download a version (or one file), verifying every SHA-256')
    .argument('<model@version>')
    .option('--out <dir>', 'target directory (default: ./MODEL-VERSION)')
    .option('--file <path>', 'only this file')
    .action(async (ref: string, options: { out?: string; file?: string }) => {
      const { model, version } = parseVersionRef(ref);
      const api = await client();
      const shown = await api.get<Version>(`/v1/models/${apiPath(model, 'versions', version)}`);
      const files = (shown.files ?? []).filter((file) => !options.file || file.path === options.file);
      if (options.file && files.length === 0) throw new UsageError(`${ref} has no file "${options.file}"`);
      const dir = resolve(cwd, options.out ?? `${model}-${version}`);
      const { encodeFilePath, prepareDestination, writeVerified } = await import('./local-files');
      for (const file of files) {
        const body = await api.download(`/v1/models/${apiPath(model, 'versions', version)}/files/${encodeFilePath(file.path)}`);
        await writeVerified(body, await prepareDestination(dir, file.path), file.sha256);
        if (!globals().json) io.stdout.write(`${file.path}  ${formatBytes(file.size)}  sha256:${file.sha256}\n`);
      }
      if (globals().json) io.stdout.write(`${JSON.stringify({ dir, files }, null, 2)}\n`);
    });
}

/** lineage: a version's ancestry, datasets, stage history and descendants as a tree. */
export function addLineageCommand(program: Command, { client, print }: CommandContext): void {
  program
    .command('lineage')
    .description("a version's lineage as a tree: where it came from, what it was trained on, its stage history, what derives from it")
    .argument('<model@version>')
    .addOption(new Option('--direction <direction>', 'ancestors (up), descendants (down) or both').choices(['up', 'down', 'both']).default('both'))
    .option('--depth <n>', 'edges to follow (1-50)', '10')
    .action(async (reference: string, options: { direction: string; depth: string }) => {
      const { model, version } = parseVersionRef(reference);
      const api = await client();
      const base = `/v1/models/${apiPath(model, 'versions', version)}`;
      const [lineage, shown] = await Promise.all([
        api.get<Lineage>(`${base}/lineage?direction=${options.direction}&depth=${parseWholeNumber(options.depth, '--depth')}`),
        api.get<Version>(base),
      ]);
      print(lineage, () => {
        const tree = lineageTree(lineage);
        tree.children.unshift(...trainingDetails(shown));
        return renderTree(tree);
      });
    });
}

function describeRegistered(version: Version): string {
  return `registered ${version.model}@${version.version}: ${version.fileCount} files, ${formatBytes(version.size)}, status ${version.status}\n`;
}

function describeTags(version: Version): string {
  const tags = Object.entries(version.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return tags.length === 0 ? `${version.model}@${version.version} has no tags` : tags.map(([key, value]) => `${key}=${value}`).join(', ');
}

function describeVersion(version: Version): string {
  const fields = formatFields([
    ['version', `${version.model}@${version.version}`],
    ['status', version.status],
    ['stage', version.stage],
    ['task', version.task],
    ['format', version.format],
    ['size', formatBytes(version.size)],
    ['manifest', version.manifestDigest],
    ['created', `${version.createdAt} by ${version.createdBy}`],
    ['committed', version.committedAt],
    ['description', version.description],
    ['tags', describeTags(version)],
    ['aliases', version.aliases.join(', ') || null],
    [
      'security',
      version.security
        ? `${version.security.status.toUpperCase()} under scanner ${version.security.scannerVersion} (gate run ${version.security.gateRunId})${version.security.message ? `: ${version.security.message}` : ''}`
        : null,
    ],
    ['source', [version.source?.repository, version.source?.commit, version.source?.runId].filter(Boolean).join(' ') || null],
    [
      'metrics',
      Object.entries(version.metrics)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || null,
    ],
    ['parents', (version.parents ?? []).map((p) => `${p.model}@${p.version} (${p.relation})`).join(', ') || null],
    ['datasets', (version.datasets ?? []).map((d) => `${d.name}@${d.version} [${d.role}]`).join(', ') || null],
    ['schema', describeSchema(version)],
  ]);
  const files = formatTable(
    ['PATH', 'SIZE', 'SHA-256'],
    (version.files ?? []).map((f) => [f.path, formatBytes(f.size), f.sha256]),
  );
  return `${fields}\n${files}`;
}

/** Where the queried version came from, ahead of its lineage. */
function trainingDetails(version: Version): TreeNode[] {
  const leaf = (label: string): TreeNode => ({ label, children: [] });
  const details: TreeNode[] = [];
  const source = [version.source?.repository, version.source?.commit && `commit ${version.source.commit}`, version.source?.runId && `run ${version.source.runId}`].filter(Boolean);
  if (source.length > 0) details.push(leaf(`source: ${source.join(' · ')}`));
  const schema = describeSchema(version);
  if (schema) details.push(leaf(`schema: ${schema}`));
  for (const [name, values] of [
    ['training config', version.params],
    ['environment', version.environment],
  ] as const) {
    const entries = Object.entries(values ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length > 0) details.push({ label: name, children: entries.map(([key, value]) => leaf(`${key}: ${JSON.stringify(value)}`)) });
  }
  return details;
}

/** `inferred from the model: features float32 [batch, 8] → probabilities float32 [batch, 3]`; null without a schema. */
function describeSchema(version: Version): string | null {
  if (!version.schema) return null;
  const tensors = (specs: IoSchema['inputs']) => specs.map((spec) => `${spec.name} ${spec.dtype} [${spec.shape.map((dim) => dim ?? '?').join(', ')}]`).join(', ');
  const source = version.schemaSource === 'inferred' ? 'inferred from the model' : 'declared';
  return `${source}: ${tensors(version.schema.inputs)} → ${tensors(version.schema.outputs)}`;
}
