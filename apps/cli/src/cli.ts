import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline, type Writable } from 'node:stream';
import { Command, CommanderError, Option } from 'commander';
import type { AuditEvent, ChainVerification, Model, Page, Token, Version } from './api-types';
import { configPath, readCliConfig, resolveConnection, writeCliConfig } from './cli-config';
import { ApiError, apiPath, GatehouseClient } from './gatehouse-client';
import { collectFiles, encodeFilePath, prepareDestination, sha256OfFile, writeVerified, type LocalFile } from './local-files';
import { formatBytes, formatFields, formatTable } from './output';
import { ProgressBar } from './progress';
import { collect, parseDatasetRef, parseVersionRef, UsageError } from './references';
import { buildStatement, signStatement } from '@gatehouse/model-signing';
import { addSigningCommands, insideDir, readCertificates, readPrivateKey, VerificationFailed } from './signing-commands';
import { addGateCommands, GateRefused } from './gate-commands';
import { addDatasetCommands } from './dataset-commands';
import { addPromotionCommands, PromotionRefused } from './promotion-commands';
import { addAdminCommands } from './admin-commands';
import { addScanAllowanceCommands } from './scan-allowance-commands';

export interface CliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Where relative paths on the command line start; the process's working directory by default. */
  cwd?: string;
}

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Runs one `gatehouse` invocation and returns its exit code: 0 done, 1 failed, 2 misused. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return report(error, io.stderr);
  }
}

/** Prints a failure and returns its exit code. */
function report(error: unknown, stderr: Writable): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof VerificationFailed || error instanceof GateRefused) return 1;
  if (error instanceof PromotionRefused) {
    if (error.message) stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  if (error instanceof UsageError) {
    stderr.write(`usage: ${error.message}\n`);
    return 2;
  }
  if (error instanceof RegistrationIncompleteError) {
    const code = report(error.failure, stderr);
    stderr.write(error.advice);
    return code;
  }
  if (error instanceof ApiError) {
    stderr.write(`error ${error.code}: ${error.message}\n`);
    const fields = (error.details as { fields?: { field: string; errors: string[] }[] } | undefined)?.fields;
    for (const field of fields ?? []) stderr.write(`  ${field.field}: ${field.errors.join('; ')}\n`);
    return 1;
  }
  stderr.write(`error: ${(error as Error).message}\n`);
  return 1;
}

function buildProgram(io: CliIo): Command {
  const program = new Command('gatehouse')
    .description('Command-line client for the Gatehouse model registry')
    .option('--url <url>', 'registry URL (default: saved config, $GATEHOUSE_URL, http://localhost:8080)')
    .option('--token <token>', 'API token (default: saved config, $GATEHOUSE_TOKEN)')
    .option('--json', 'print raw JSON for scripts')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError();

  const globals = () => program.opts<GlobalOptions>();
  const client = async () => {
    const connection = resolveConnection(globals(), io.env, await readCliConfig(configPath(io.env)));
    return new GatehouseClient(connection.url, connection.token);
  };
  const print = (json: unknown, human: () => string) => io.stdout.write(globals().json ? `${JSON.stringify(json, null, 2)}\n` : human());

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
        formatFields([['url', connection.url], ['token', masked], ['file', configPath(io.env)]]),
      );
    });

  addModelCommands(program, client, print);
  addDatasetCommands(program, client, print, io.cwd ?? process.cwd());
  addVersionCommands(program, client, print, io);
  addTokenCommands(program, client, print);
  addAuditCommands(program, client, print);
  addSigningCommands(program, client, print, io.cwd ?? process.cwd());
  addGateCommands(program, client, print, io.cwd ?? process.cwd());
  addPromotionCommands(program, client, print);
  addAdminCommands(program, client, print);
  return program;
}

export type ClientFactory = () => Promise<GatehouseClient>;
export type Printer = (json: unknown, human: () => string) => void;

function addModelCommands(program: Command, client: ClientFactory, print: Printer): void {
  const models = program.command('models').description('create and list models, and what their artifact scan allows');
  models
    .command('create')
    .argument('<name>')
    .option('--description <text>')
    .option('--owner <owner>')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .action(async (name: string, options: { description?: string; owner?: string; tag: string[] }) => {
      const model = await (await client()).post<Model>('/v1/models', {
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
      const api = await client();
      const items = await pages<Model>(api, '/v1/models', { search: options.search, tag: options.tag, limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(['NAME', 'OWNER', 'TAGS', 'CREATED BY', 'CREATED'], items.map((m) => [m.name, m.owner, m.tags.join(','), m.createdBy, m.createdAt])),
      );
    });

  addScanAllowanceCommands(models, client, print);
}

function addVersionCommands(program: Command, client: ClientFactory, print: Printer, io: CliIo): void {
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
    .option('--source-repo <url>')
    .option('--commit <sha>')
    .option('--run-id <id>')
    .option('--create-model', 'create the model first if it does not exist')
    .option('--sign <private.pem>', 'sign the uploaded files (OpenSSF Model Signing) and commit with the signature')
    .option('--signature <bundle>', 'commit with an existing signature bundle, e.g. model.sig from model_signing')
    .option('--certificate <chain.pem>', 'with --sign: sign as this certificate (then any intermediates)')
    .option('--resume', 'finish a version an earlier register left in pending_upload')
    .action(async (target: string, options: RegisterOptions) => {
      const version = await register(await client(), target, options, io);
      print(version, () => `registered ${version.model}@${version.version}: ${version.fileCount} files, ${formatBytes(version.size)}, status ${version.status}\n`);
    });

  const versions = program.command('versions').description('list and show versions');
  versions
    .command('list')
    .argument('<model>')
    .option('--status <status>')
    .option('--limit <n>', 'page size', '50')
    .option('--all', 'follow every page')
    .action(async (model: string, options: { status?: string; limit: string; all?: boolean }) => {
      const items = await pages<Version>(await client(), `/v1/models/${apiPath(model)}/versions`, { status: options.status, limit: options.limit }, !!options.all);
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
      const dir = resolve(io.cwd ?? process.cwd(), options.out ?? `${model}-${version}`);
      for (const file of files) {
        const body = await api.download(`/v1/models/${apiPath(model, 'versions', version)}/files/${encodeFilePath(file.path)}`);
        await writeVerified(body, await prepareDestination(dir, file.path), file.sha256);
        if (!program.opts<GlobalOptions>().json) io.stdout.write(`${file.path}  ${formatBytes(file.size)}  sha256:${file.sha256}\n`);
      }
      if (program.opts<GlobalOptions>().json) io.stdout.write(`${JSON.stringify({ dir, files }, null, 2)}\n`);
    });
}

function addTokenCommands(program: Command, client: ClientFactory, print: Printer): void {
  const tokens = program.command('tokens').description('API tokens (admin)');
  tokens
    .command('create')
    .argument('<name>')
    .requiredOption('--role <role>', 'a role (repeatable): admin, ml_engineer, data_scientist, approver, reader', collect, [])
    .action(async (name: string, options: { role: string[] }) => {
      const token = await (await client()).post<Token>('/v1/tokens', { name, roles: options.role });
      print(token, () => `created token ${token.name} (${token.roles.join(', ')}); the secret is shown only now:\n${token.token}\n`);
    });
  tokens.command('list').action(async () => {
    const list = await (await client()).get<Token[]>('/v1/tokens');
    print(list, () =>
      formatTable(['ID', 'NAME', 'ROLES', 'CREATED', 'LAST USED', 'REVOKED'], list.map((t) => [t.id, t.name, t.roles.join(','), t.createdAt, t.lastUsedAt, t.revokedAt])),
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

function addAuditCommands(program: Command, client: ClientFactory, print: Printer): void {
  const audit = program
    .command('audit')
    .description('the audit log, newest first')
    .option('--model <name>', 'events about this model and its versions')
    .option('--subject <subject>', 'e.g. version:fraud@1.2.0')
    .option('--action <action>', 'e.g. version.committed')
    .option('--actor <token-name>')
    .option('--since <iso-time>')
    .option('--limit <n>', 'page size', '50')
    .option('--all', 'follow every page')
    .action(async (options: { model?: string; subject?: string; action?: string; actor?: string; since?: string; limit: string; all?: boolean }) => {
      const { all, ...query } = options;
      const events = await pages<AuditEvent>(await client(), '/v1/audit', query, !!all);
      print(events, () =>
        formatTable(['SEQ', 'TIME', 'ACTOR', 'ACTION', 'SUBJECT'], events.map((e) => [e.seq, e.occurredAt, e.actor, e.action, e.subject])),
      );
    });
  audit
    .command('verify')
    .description('recompute the hash chain; exit 1 if it is broken')
    .action(async () => {
      const result = await (await client()).get<ChainVerification>('/v1/audit/verify');
      print(result, () =>
        result.ok
          ? `audit chain intact: ${result.checked} events, head ${result.head.seq} ${result.head.hash}\n`
          : `audit chain BROKEN at seq ${result.firstBrokenSeq}: ${result.reason}\n`,
      );
      if (!result.ok) throw new VerificationFailed();
    });
}

function maskToken(token: string): string {
  return token.length > 16 ? `${token.slice(0, 6)}…${token.slice(-4)}` : '…';
}


interface RegisterOptions {
  model: string;
  version: string;
  task: string;
  description?: string;
  metrics?: string;
  params?: string;
  environment?: string;
  schema?: string;
  parent: string[];
  dataset: string[];
  sourceRepo?: string;
  commit?: string;
  runId?: string;
  createModel?: boolean;
  resume?: boolean;
  sign?: string;
  signature?: string;
  certificate?: string;
}

/** Registration stopped after the version was declared: the server keeps it pending_upload. */
class RegistrationIncompleteError extends Error {
  constructor(
    readonly failure: unknown,
    readonly advice: string,
  ) {
    super((failure as Error).message);
  }
}

async function register(api: GatehouseClient, target: string, options: RegisterOptions, io: CliIo): Promise<Version> {
  const cwd = io.cwd ?? process.cwd();
  const ref = `${options.model}@${options.version}`;
  const parents = options.parent.map(parseVersionRef);
  const datasets = options.dataset.map(parseDatasetRef);
  if (options.sign && options.signature) throw new UsageError('use --sign or --signature, not both');
  if (options.certificate && !options.sign) throw new UsageError('--certificate goes with --sign');
  const signingKey = options.sign ? await readPrivateKey(resolve(cwd, options.sign)) : undefined;
  const chain = options.certificate ? await readCertificates(resolve(cwd, options.certificate)) : [];
  const bundle = options.signature ? await readJson(cwd, options.signature) : undefined;
  const collected = await collectFiles(resolve(cwd, target));
  for (const link of collected.skippedSymlinks) io.stderr.write(`warning: skipping symlink ${link}\n`);
  // A signature bundle describes the files; it is not one of them.
  const bundleInside = options.signature ? insideDir(resolve(cwd, target), resolve(cwd, options.signature)) : undefined;
  const files = collected.files.filter((file) => file.path !== bundleInside);
  if (files.length === 0) throw new UsageError(`${target} holds no files`);

  const versionPath = `/v1/models/${apiPath(options.model, 'versions', options.version)}`;
  let uploadedEarlier = new Map<string, string>();
  if (options.resume) {
    uploadedEarlier = await filesOfPendingVersion(api, versionPath, ref, files);
    io.stderr.write(`resuming ${ref}: its metadata stays as first declared\n`);
  } else {
    if (options.createModel) {
      await api.post('/v1/models', { name: options.model }).catch((error: unknown) => {
        if (!(error instanceof ApiError && error.code === 'model_exists')) throw error;
      });
    }
    await api.post(`/v1/models/${apiPath(options.model)}/versions`, {
      version: options.version,
      task: options.task,
      description: options.description,
      metrics: await readJson(cwd, options.metrics),
      params: await readJson(cwd, options.params),
      environment: await readJson(cwd, options.environment),
      schema: await readJson(cwd, options.schema),
      source: options.sourceRepo || options.commit || options.runId ? { repository: options.sourceRepo, commit: options.commit, runId: options.runId } : undefined,
      parents: parents.length ? parents : undefined,
      datasets: datasets.length ? datasets : undefined,
    });
  }

  try {
    const digests = await uploadFiles(api, versionPath, files, uploadedEarlier, io.stderr);
    const signature = signingKey ? signStatement(buildStatement(options.model, digests), signingKey, chain) : bundle;
    return await api.post<Version>(`${versionPath}/commit`, signature === undefined ? {} : { signature });
  } catch (error) {
    throw new RegistrationIncompleteError(
      error,
      `${ref} stays pending_upload on the server. Fix the cause, then run the same command with --resume to upload what is missing and commit.\n`,
    );
  }
}

/**
 * What an interrupted register already uploaded, path to SHA-256. Refuses a
 * version that holds a file no longer on disk: commit would seal it into the manifest.
 */
async function filesOfPendingVersion(api: GatehouseClient, versionPath: string, ref: string, files: LocalFile[]): Promise<Map<string, string>> {
  const pending = await api.get<Version>(versionPath);
  if (pending.status !== 'pending_upload') throw new Error(`${ref} is already ${pending.status}; there is nothing to resume`);
  const local = new Set(files.map((file) => file.path));
  const gone = (pending.files ?? []).filter((file) => !local.has(file.path)).map((file) => file.path);
  if (gone.length > 0) throw new Error(`${ref} already holds ${gone.join(', ')}, which is no longer here; register a new version instead`);
  return new Map((pending.files ?? []).map((file) => [file.path, file.sha256]));
}

/** Uploads what the server does not hold yet; returns every file's digest, for signing. */
async function uploadFiles(
  api: GatehouseClient,
  versionPath: string,
  files: LocalFile[],
  uploadedEarlier: Map<string, string>,
  stderr: CliIo['stderr'],
): Promise<{ path: string; sha256: string }[]> {
  const progress = new ProgressBar(stderr, files.reduce((sum, file) => sum + file.size, 0));
  const digests: { path: string; sha256: string }[] = [];
  try {
    for (const file of files) {
      const sha256 = await sha256OfFile(file.absolutePath);
      digests.push({ path: file.path, sha256 });
      if (uploadedEarlier.get(file.path) === sha256) {
        progress.skip(file.path, file.size);
        continue;
      }
      const body = progress.track(file.path);
      // pipeline, unlike pipe(), passes a read error on to the request body, so the upload fails instead of waiting forever.
      pipeline(createReadStream(file.absolutePath, { highWaterMark: 1024 * 1024 }), body, () => {});
      await api.upload(`${versionPath}/files/${encodeFilePath(file.path)}`, body, {
        'x-content-sha256': sha256,
        'content-length': String(file.size),
      });
      progress.fileDone(file.path, file.size);
    }
  } finally {
    progress.finish();
  }
  return digests;
}

async function pages<T>(api: GatehouseClient, base: string, query: Record<string, string | undefined>, all: boolean): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(Object.entries({ ...query, cursor: cursor ?? undefined }).filter((e): e is [string, string] => e[1] !== undefined));
    const page: Page<T> = await api.get<Page<T>>(`${base}?${params}`);
    items.push(...page.items);
    cursor = all ? page.nextCursor : null;
  } while (cursor);
  return items;
}

async function readJson(cwd: string, file: string | undefined): Promise<unknown> {
  if (!file) return undefined;
  try {
    return JSON.parse(await readFile(resolve(cwd, file), 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read JSON from ${file}: ${(error as Error).message}`);
  }
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
    ['security', version.security ? `${version.security.status.toUpperCase()} under scanner ${version.security.scannerVersion} (gate run ${version.security.gateRunId})${version.security.message ? `: ${version.security.message}` : ''}` : null],
    ['source', [version.source?.repository, version.source?.commit, version.source?.runId].filter(Boolean).join(' ') || null],
    ['metrics', Object.entries(version.metrics).map(([k, v]) => `${k}=${v}`).join(', ') || null],
    ['parents', (version.parents ?? []).map((p) => `${p.model}@${p.version} (${p.relation})`).join(', ') || null],
    ['datasets', (version.datasets ?? []).map((d) => `${d.name}@${d.version} [${d.role}]`).join(', ') || null],
  ]);
  const files = formatTable(['PATH', 'SIZE', 'SHA-256'], (version.files ?? []).map((f) => [f.path, formatBytes(f.size), f.sha256]));
  return `${fields}\n${files}`;
}
