import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxModel, OnnxSession, type SessionOptions } from '@gatehouse/onnx';
import { evaluateDataset, type MeasuredMetrics } from './evaluation';
import type { GateSettings } from './gate-settings';
import type { DatasetRole, IoSchema, Task, VersionSchema } from './terms';

/** A file the version's manifest lists; the digest is null when validating a directory that has no manifest. */
export interface ManifestFile {
  path: string;
  sha256: string | null;
  size: number;
}

/** A dataset the version names, copied into the workspace. */
export interface GateDataset {
  role: DatasetRole;
  name: string;
  /** Local JSON Lines file, or null when the dataset has no stored file. */
  path: string | null;
  /** Why a stored file could not be used (corrupt, missing): checks fail on it rather than skip. */
  problem?: string;
}

/** The version under test, as the registry (or the offline CLI) describes it. */
export interface GateSubject {
  model: string;
  version: string;
  task: Task;
  /** The schema the registrant declared; null when none was (a schema inferred earlier is read from the model again, not passed here). */
  declaredSchema: IoSchema | null;
  reportedMetrics: Record<string, number>;
  files: ManifestFile[];
  /** The signature as verified for this run against today's trusted signers; absent where nothing can verify it (offline validation). */
  signature?: SignatureStatus;
  /** Where the version stands in canary analysis, as the registry recorded it; absent where nothing records analyses (offline validation). */
  canaryAnalysis?: CanaryAnalysisStanding;
}

/** The canary analyses a version has had, as the production gate needs them. */
export interface CanaryAnalysisStanding {
  /** Whether the model's monitoring policy analyses canaries at all. */
  enabled: boolean;
  /** Whether the version is the model's canary now, which can be analysed again without another promotion. */
  canary: boolean;
  /** The version's most recent analysis run; null when it has had none. */
  latest: {
    id: string;
    /** running, paused, passed, rolled_back, aborted or cancelled. */
    status: string;
    /** The production version it was compared with. */
    baselineVersion: string;
    intervals: number;
    finishedAt: string | null;
  } | null;
}

export interface SignatureStatus {
  present: boolean;
  /** Verifies over exactly these files, by a signer trusted now. */
  ok: boolean;
  signer?: string;
  reason?: string;
  message?: string;
}

/**
 * The version a candidate would replace (the one in production), copied to a
 * directory of its own so the regression checks run both in one gate run.
 */
export interface GateBaseline {
  subject: GateSubject;
  /** Directory holding the baseline's files at their manifest paths. */
  workspace: string;
  /** Why its stored files could not be used (corrupt, missing): the comparisons error rather than pass. */
  problem?: string;
}

export class ModelFileError extends Error {}

/**
 * Everything a gate run's checks share: the version, the directory its files
 * were copied to, its datasets, the settings, and work done once for all
 * checks (the parsed model, the loaded session, evaluations per dataset).
 */
export class GateContext {
  private parsed?: Promise<OnnxModel>;
  private loaded?: Promise<OnnxSession>;
  private readonly evaluations = new Map<string, Promise<MeasuredMetrics>>();
  private readonly aborter = new AbortController();

  /**
   * The production version to compare with, as a context of its own over this
   * run's datasets and settings (so it is evaluated on the candidate's data
   * with the same batch size); null when nothing serves in production.
   */
  readonly baseline: BaselineContext | null;

  constructor(
    readonly subject: GateSubject,
    /** Directory holding the version's files at their manifest paths. */
    readonly workspace: string,
    readonly datasets: GateDataset[],
    readonly settings: GateSettings,
    baseline?: GateBaseline,
  ) {
    this.baseline = baseline ? new BaselineContext(baseline, datasets, settings) : null;
  }

  /** Aborted when the run is abandoned (timeout): long loops stop between model calls. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  abort(reason: Error): void {
    this.aborter.abort(reason);
    this.baseline?.abort(reason);
  }

  get task(): Task {
    return this.subject.task;
  }

  /**
   * The ONNX file the checks load: the only .onnx file, or model.onnx when
   * there are several. Null when the version has no ONNX file at all.
   */
  get modelPath(): string | null {
    const candidates = this.subject.files.map((file) => file.path).filter((path) => path.toLowerCase().endsWith('.onnx'));
    if (candidates.length === 0) return null;
    if (candidates.length === 1) return candidates[0];
    const named = candidates.find((path) => path === 'model.onnx');
    if (named) return named;
    throw new ModelFileError(`the version has ${candidates.length} ONNX files (${candidates.join(', ')}) and none is model.onnx, so it is unclear which to load`);
  }

  absolutePath(path: string): string {
    return join(this.workspace, path);
  }

  /** The model as its protobuf declares it; parsed once. */
  onnxModel(): Promise<OnnxModel> {
    this.parsed ??= this.readModelBytes().then((bytes) => OnnxModel.parse(bytes));
    return this.parsed;
  }

  /**
   * The schema clients code against: the declared one, else the one the
   * model's graph declares (inferred; read from the parsed model, so from the
   * same bytes every time the version is gated).
   */
  async ioSchema(): Promise<VersionSchema> {
    const declared = this.subject.declaredSchema;
    if (declared) return { source: 'declared', schema: declared };
    const reading = (await this.onnxModel()).tensorSchema();
    return 'schema' in reading ? { source: 'inferred', schema: reading.schema } : { source: null, unreadable: reading.unreadable };
  }

  /** The model loaded in onnxruntime; loaded once and released by {@link dispose}. */
  session(): Promise<OnnxSession> {
    this.loaded ??= this.loadSession();
    return this.loaded;
  }

  /** A new session the caller owns, for measurements that must include loading or need their own options. */
  async loadSession(options: Pick<SessionOptions, 'allowSpinning'> = {}): Promise<OnnxSession> {
    return OnnxSession.load(this.absolutePath(this.requireModelPath()), { ...options, intraOpThreads: this.settings.intraOpThreads || undefined });
  }

  dataset(role: DatasetRole): GateDataset | undefined {
    return this.datasets.find((dataset) => dataset.role === role);
  }

  /** Metrics from running the model over the dataset of a role; computed once per role and example limit. */
  evaluate(dataset: GateDataset & { path: string }, maxExamples = 0): Promise<MeasuredMetrics> {
    const key = `${dataset.role}:${maxExamples}`;
    let evaluation = this.evaluations.get(key);
    if (!evaluation) {
      evaluation = this.session().then((session) => evaluateDataset(session, dataset.path, this.task, { batchSize: this.settings.batchSize, maxExamples, signal: this.signal }));
      this.evaluations.set(key, evaluation);
    }
    return evaluation;
  }

  /** The training dataset's metrics over its first `settings.trainingExamples` examples: one evaluation for every check that wants it. */
  evaluateTraining(dataset: GateDataset & { path: string }): Promise<MeasuredMetrics> {
    return this.evaluate(dataset, this.settings.trainingExamples);
  }

  async dispose(): Promise<void> {
    const session = await this.loaded?.catch(() => undefined);
    await session?.release();
    await this.baseline?.dispose();
  }

  requireModelPath(): string {
    const path = this.modelPath;
    if (!path) throw new ModelFileError('the version has no ONNX file');
    return path;
  }

  private readModelBytes(): Promise<Buffer> {
    return readFile(this.absolutePath(this.requireModelPath()));
  }
}

/** The production version as a gate context of its own: its files, the candidate's datasets and settings. */
export class BaselineContext extends GateContext {
  readonly problem?: string;

  constructor(baseline: GateBaseline, datasets: GateDataset[], settings: GateSettings) {
    super(baseline.subject, baseline.workspace, datasets, settings);
    this.problem = baseline.problem;
  }
}
