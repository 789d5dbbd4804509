import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { GateSubjectRecord } from '@gatehouse/catalog';
import { isAlive } from '@gatehouse/database';
import { OnnxModel, OnnxParseError } from '@gatehouse/onnx';
import { BLOB_STORE, BlobCorruptError, BlobMissingError, BlobNotFoundError, ContentAddressedStore, contentKey, type BlobStore } from '@gatehouse/storage';
import type { GateDataset } from '@gatehouse/gate-engine';
import { externalDataFiles } from '@gatehouse/artifact-scan';

export interface Workspace {
  directory: string;
  filesDirectory: string;
  datasets: GateDataset[];
  /** The production version's files, when the run compares with it; `problem` says why they could not all be copied. */
  baseline?: { filesDirectory: string; problem?: string };
  remove(): Promise<void>;
}

/** This host, shortened: workspaces of another host sharing the temporary directory are not ours to judge. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** `gatehouse-gate-<host>-<pid>-<random>`: who made a workspace is in its name from the moment it exists. */
const WORKSPACE_NAME = /^gatehouse-gate-([0-9a-f]{8})-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Copies a version's stored files into a private temporary directory at
 * their manifest paths, so onnxruntime loads them from disk and external
 * data resolves beside the model. Files are copied as stored, unverified:
 * the files_intact check is what compares them with the manifest, so a
 * corrupt blob fails a check instead of aborting the run. Datasets are
 * verified on the way, since a check can't tell bad data from a bad model;
 * so are the production version's model files, copied to a directory of their own
 * when the run compares the candidate with them.
 */
@Injectable()
export class ArtifactWorkspace implements OnApplicationBootstrap {
  private readonly logger = new Logger('ArtifactWorkspace');

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly content: ContentAddressedStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const removed = await this.removeAbandoned();
    if (removed.length > 0) this.logger.log(`removed ${removed.length} gate workspaces that crashed processes left behind`);
  }

  /**
   * Removes the workspaces of processes on this host that are gone (a crash
   * mid-gate never runs `remove`). A live process's workspace is never
   * touched, whoever it belongs to; nor is another host's, whose processes
   * this one cannot see. Returns the directories removed.
   */
  async removeAbandoned(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(tmpdir())) {
      const owner = WORKSPACE_NAME.exec(name);
      if (!owner || owner[1] !== HOST_TAG || isAlive(Number(owner[2]))) continue;
      await rm(join(tmpdir(), name), { recursive: true, force: true });
      removed.push(join(tmpdir(), name));
    }
    return removed;
  }

  async materialize(subject: GateSubjectRecord, baseline?: GateSubjectRecord): Promise<Workspace> {
    const directory = await mkdtemp(join(tmpdir(), `gatehouse-gate-${HOST_TAG}-${process.pid}-`));
    const remove = () => rm(directory, { recursive: true, force: true });
    try {
      const filesDirectory = join(directory, 'files');
      for (const file of subject.files) {
        const target = join(filesDirectory, file.path);
        await mkdir(dirname(target), { recursive: true });
        let source;
        try {
          source = await this.blobs.get(contentKey(file.sha256));
        } catch (error) {
          if (error instanceof BlobNotFoundError) continue;
          throw error;
        }
        await pipeline(source, createWriteStream(target));
      }
      const datasets: GateDataset[] = [];
      await mkdir(join(directory, 'datasets'));
      for (const [index, use] of subject.datasets.entries()) {
        const base = { role: use.role, name: `${use.name}@${use.version}` };
        if (use.size === null) {
          datasets.push({ ...base, path: null });
          continue;
        }
        const target = join(directory, 'datasets', `${index}.jsonl`);
        try {
          await pipeline(await this.content.openVerified({ sha256: use.sha256, size: use.size }, 'internal'), createWriteStream(target));
          datasets.push({ ...base, path: target });
        } catch (error) {
          if (!(error instanceof BlobCorruptError || error instanceof BlobMissingError)) throw error;
          datasets.push({ ...base, path: null, problem: `its stored file is unusable: ${error.message}` });
        }
      }
      if (!baseline) return { directory, filesDirectory, datasets, remove };
      const baselineDirectory = join(directory, 'baseline');
      return { directory, filesDirectory, datasets, baseline: { filesDirectory: baselineDirectory, problem: await this.copyVerified(baseline, baselineDirectory) }, remove };
    } catch (error) {
      await remove();
      throw error;
    }
  }

  /**
   * Copies what the comparisons load of a version, each file checked against
   * its digest: its ONNX models, then the files their external data names.
   * Checkpoints and other files riding along are left in the store (sizes
   * come from the manifest). Returns what was wrong with the first file that
   * could not be copied.
   */
  private async copyVerified(version: GateSubjectRecord, target: string): Promise<string | undefined> {
    const byPath = new Map(version.files.map((file) => [file.path, file]));
    const models = version.files.filter((file) => file.path.toLowerCase().endsWith('.onnx'));
    const copy = async (file: GateSubjectRecord['files'][number]) => {
      const path = join(target, file.path);
      await mkdir(dirname(path), { recursive: true });
      try {
        await pipeline(await this.content.openVerified({ sha256: file.sha256, size: file.size }, 'internal'), createWriteStream(path));
        return undefined;
      } catch (error) {
        if (!(error instanceof BlobCorruptError || error instanceof BlobMissingError)) throw error;
        return `${file.path} of ${version.model}@${version.version} is unusable: ${error.message}`;
      }
    };
    const weights = new Set<string>();
    for (const model of models) {
      const problem = await copy(model);
      if (problem) return problem;
      let parsed: OnnxModel;
      try {
        parsed = OnnxModel.parse(await readFile(join(target, model.path)));
      } catch (error) {
        if (!(error instanceof OnnxParseError)) throw error;
        // Loading it fails in the checks, which report why.
        continue;
      }
      for (const path of externalDataFiles(parsed, model.path)) if (byPath.has(path)) weights.add(path);
    }
    for (const path of weights) {
      const problem = await copy(byPath.get(path)!);
      if (problem) return problem;
    }
    return undefined;
  }
}
