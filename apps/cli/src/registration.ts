import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream';
import type { Version } from './api-types';
import { ExitError, reportFailure, type CliIo, type CommandContext } from './command-context';
import type { FlagNames } from './flag-names';
import { ApiError, apiPath, type GatehouseClient } from './gatehouse-client';
import { collectFiles, encodeFilePath, readJsonFile, sha256OfFile, type LocalFile } from './local-files';
import { insideDir, readCertificates, readPrivateKey, signVersionFiles } from './local-signing';
import { ProgressBar } from './progress';
import { parseDatasetRef, parseVersionRef, UsageError } from './references';

export interface RegisterOptions {
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
  inputExample?: string;
  sourceRepo?: string;
  commit?: string;
  runId?: string;
  createModel?: boolean;
  resume?: boolean;
  sign?: string;
  signature?: string;
  certificate?: string;
}

/** The flags the declaration's fields come from, for the registry's refusals to name. */
const DECLARE_FLAGS: FlagNames = {
  version: '--version',
  task: '--task',
  description: '--description',
  metrics: '--metrics',
  params: '--params',
  environment: '--environment',
  schema: '--schema',
  'source.repository': '--source-repo',
  'source.commit': '--commit',
  'source.runId': '--run-id',
  parents: '--parent',
  datasets: '--dataset',
};

/** Declares a version (or, with --resume, finds the pending one), uploads what the server lacks, and commits it. */
export async function register(api: GatehouseClient, target: string, options: RegisterOptions, { io, cwd }: CommandContext): Promise<Version> {
  const ref = `${options.model}@${options.version}`;
  const readJson = (file: string | undefined) => (file ? readJsonFile(resolve(cwd, file), `cannot read JSON from ${file}`) : undefined);
  const parents = options.parent.map(parseVersionRef);
  const datasets = options.dataset.map(parseDatasetRef);
  if (options.sign && options.signature) throw new UsageError('use --sign or --signature, not both');
  if (options.certificate && !options.sign) throw new UsageError('--certificate goes with --sign');
  const signingKey = options.sign ? await readPrivateKey(resolve(cwd, options.sign)) : undefined;
  const chain = options.certificate ? await readCertificates(resolve(cwd, options.certificate)) : [];
  const bundle = await readJson(options.signature);
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
    if (options.inputExample) datasets.push(await registerInputExamples(api, resolve(cwd, options.inputExample), options, io));
    await api.post(
      `/v1/models/${apiPath(options.model)}/versions`,
      {
        version: options.version,
        task: options.task,
        description: options.description,
        metrics: await readJson(options.metrics),
        params: await readJson(options.params),
        environment: await readJson(options.environment),
        schema: await readJson(options.schema),
        source: options.sourceRepo || options.commit || options.runId ? { repository: options.sourceRepo, commit: options.commit, runId: options.runId } : undefined,
        parents: parents.length ? parents : undefined,
        datasets: datasets.length ? datasets : undefined,
      },
      DECLARE_FLAGS,
    );
  }

  try {
    const digests = await uploadFiles(api, versionPath, files, uploadedEarlier, io.stderr);
    const signature = signingKey ? signVersionFiles(options.model, digests, signingKey, chain) : bundle;
    return await api.post<Version>(`${versionPath}/commit`, signature === undefined ? {} : { signature });
  } catch (error) {
    // The version was declared: it stays pending_upload on the server, so say how to finish it.
    const exitCode = reportFailure(error, io.stderr);
    io.stderr.write(`${ref} stays pending_upload on the server. Fix the cause, then run the same command with --resume to upload what is missing and commit.\n`);
    throw new ExitError(exitCode);
  }
}

/** Registers --input-example's file as the dataset `<model>-input-examples@<version>`, for the version to name with role `example`. */
async function registerInputExamples(api: GatehouseClient, absolutePath: string, options: RegisterOptions, io: CliIo): Promise<{ name: string; version: string; role: string }> {
  const { uploadDataset } = await import('./dataset-upload');
  const declared = { name: `${options.model}-input-examples`, version: options.version, description: `input examples of ${options.model}@${options.version}` };
  const { dataset, alreadyStored } = await uploadDataset(api, absolutePath, options.inputExample!, declared);
  io.stderr.write(`${alreadyStored ? 'input examples already registered as' : 'registered input examples as'} ${dataset.name}@${dataset.version}\n`);
  return { name: dataset.name, version: dataset.version, role: 'example' };
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
  const progress = new ProgressBar(
    stderr,
    files.reduce((sum, file) => sum + file.size, 0),
  );
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
