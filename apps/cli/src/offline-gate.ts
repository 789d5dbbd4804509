/**
 * The gate engine on local files, in its sandbox, for `gatehouse validate`, and the Markdown
 * form of a gate report. The engine loads onnxruntime-node and the config lib
 * (the default policy file) class-validator: the commands that need them load
 * this module when they run, so the others start without either.
 */
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DEFAULT_GATE_POLICY_FILE } from '@gatehouse/config';
import {
  GATE_CHECKS,
  GATE_STAGES,
  TASKS,
  VALIDATION_THRESHOLD_KEYS,
  GatePolicy,
  GatePolicyError,
  ValidationThresholdsError,
  applyValidationThresholds,
  loadValidationThresholds,
  renderMarkdown,
  runInSandbox,
  type GateBaseline,
  type GateDataset,
  type GateProgress,
  type GateReport,
  type GateStage,
  type IoSchema,
  type SandboxRequest,
  type StagePolicy,
  type Task,
  type ValidationThresholds,
} from '@gatehouse/gate-engine';
import { collectFiles, readJsonFile } from './local-files';
import { UsageError } from './references';

export { DEFAULT_GATE_POLICY_FILE, GATE_STAGES, renderMarkdown, TASKS, VALIDATION_THRESHOLD_KEYS };

/** Hears what a run does: the policy it runs once it is resolved, then each check as it starts and finishes. */
export interface ValidateListener {
  starting(policy: StagePolicy): void;
  progress(progress: GateProgress): void;
}

export interface ValidateOptions {
  task: Task;
  dataset?: string;
  reference?: string;
  training?: string;
  inputExample?: string;
  schema?: string;
  metrics?: string;
  policy: string;
  stage: GateStage;
  thresholds?: string;
  checkAll?: boolean;
  output?: string;
  markdown?: string;
  baseline?: string;
  candidateVersion: string;
  baselineVersion: string;
}

/** Runs a stage's gate on a local file or directory and writes the reports asked for; relative paths start at `cwd`. */
export async function validateOffline(target: string, options: ValidateOptions, cwd: string, listener?: ValidateListener): Promise<GateReport> {
  const at = (file: string) => resolve(cwd, file);
  const policy = loadPolicy(at(options.policy));
  if (!policy.stageNames.includes(options.stage)) throw new UsageError(`the policy has no stage "${options.stage}" (it has: ${policy.stageNames.join(', ')})`);
  const thresholds = options.thresholds ? loadThresholds(at(options.thresholds)) : {};
  const root = at(target);
  const collected = await collectFiles(root).catch((error: Error) => {
    throw new UsageError(`cannot read ${target}: ${error.message}`);
  });
  const workspace = (await stat(root)).isDirectory() ? root : dirname(root);
  const datasets: GateDataset[] = [];
  if (options.dataset) datasets.push({ role: 'evaluation', name: options.dataset, path: at(options.dataset) });
  if (options.reference) datasets.push({ role: 'reference', name: options.reference, path: at(options.reference) });
  if (options.training) datasets.push({ role: 'training', name: options.training, path: at(options.training) });
  if (options.inputExample) datasets.push({ role: 'example', name: options.inputExample, path: at(options.inputExample) });
  const stagePolicy = applyValidationThresholds(policy.resolve(options.stage, options.task, { everyCheck: options.checkAll }), thresholds);
  const model = collected.files.length === 1 ? collected.files[0].path : target;
  const request: SandboxRequest = {
    subject: {
      model,
      version: options.candidateVersion,
      task: options.task,
      declaredSchema: options.schema ? await readJsonFile<IoSchema>(at(options.schema), `--schema ${at(options.schema)}`) : null,
      reportedMetrics: options.metrics ? await readJsonFile<Record<string, number>>(at(options.metrics), `--metrics ${at(options.metrics)}`) : {},
      files: collected.files.map((file) => ({ path: file.path, sha256: null, size: file.size })),
    },
    workspace,
    datasets,
    baseline: options.baseline ? await localBaseline(at(options.baseline), options.baseline, { model, version: options.baselineVersion, task: options.task }) : undefined,
    policy: stagePolicy,
  };
  listener?.starting(stagePolicy);
  // In a sandbox, as the registry runs it: a model that exhausts memory or never finishes fails its gate with the reason.
  const report = await runInSandbox(request, { onProgress: listener && ((progress) => listener.progress(progress)) });
  if (options.output) await writeReport(at(options.output), '--output', `${JSON.stringify(report, null, 2)}\n`);
  if (options.markdown) await writeReport(at(options.markdown), '--markdown', renderMarkdown(report));
  return report;
}

async function writeReport(path: string, flag: string, text: string): Promise<void> {
  await writeFile(path, text).catch((error: Error) => {
    throw new UsageError(`cannot write ${flag} ${path}: ${error.message}`);
  });
}

/** The production model's local files as the regression checks' baseline. */
async function localBaseline(root: string, given: string, identity: { model: string; version: string; task: Task }): Promise<GateBaseline> {
  const collected = await collectFiles(root).catch((error: Error) => {
    throw new UsageError(`cannot read --baseline ${given}: ${error.message}`);
  });
  return {
    subject: { ...identity, declaredSchema: null, reportedMetrics: {}, files: collected.files.map((file) => ({ path: file.path, sha256: null, size: file.size })) },
    workspace: (await stat(root)).isDirectory() ? root : dirname(root),
  };
}

/** A thresholds file that cannot be used is a usage problem: exit 2 with every problem listed. */
function loadThresholds(path: string): ValidationThresholds {
  try {
    return loadValidationThresholds(path, GATE_CHECKS);
  } catch (error) {
    if (error instanceof ValidationThresholdsError) throw new UsageError(error.message);
    throw error;
  }
}

/** A policy that cannot be used is a usage problem: exit 2 with every problem listed. */
function loadPolicy(path: string): GatePolicy {
  try {
    return GatePolicy.load(path, GATE_CHECKS);
  } catch (error) {
    if (error instanceof GatePolicyError) throw new UsageError(error.message);
    throw error;
  }
}
