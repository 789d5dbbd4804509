import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_GATE_POLICY_FILE } from '@gatehouse/config';
import {
  GATE_CHECKS,
  GATE_STAGES,
  TASKS,
  GateContext,
  GateEngine,
  GatePolicy,
  GatePolicyError,
  renderMarkdown,
  type IoSchema,
  type GateBaseline,
  type GateDataset,
  type GateReport,
  type GateStage,
  type Task,
} from '@gatehouse/gate-engine';
import type { ClientFactory, Printer } from './cli';
import { apiPath } from './gatehouse-client';
import { collectFiles } from './local-files';
import { formatTable } from './output';
import { parseVersionRef, UsageError } from './references';

/** Exit code 1 without another message: the report already says why. */
export class GateRefused extends Error {}

interface ValidateOptions {
  task: Task;
  dataset?: string;
  reference?: string;
  training?: string;
  schema?: string;
  metrics?: string;
  policy: string;
  stage: GateStage;
  output?: string;
  markdown?: string;
  baseline?: string;
  candidateVersion: string;
  baselineVersion: string;
}

interface GateRunSummary {
  id: string;
  stage: string;
  status: string;
  healthScore: number | null;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  report: GateReport | null;
}

/** validate (offline, the registry's own engine) and gate (the latest report of a registered version). */
export function addGateCommands(program: Command, client: ClientFactory, print: Printer, cwd: string): void {
  program
    .command('validate')
    .description('run a stage\'s gate on a local model file or directory, offline; exits 1 when a critical check fails')
    .argument('<file-or-dir>', 'an .onnx file or a directory holding the version\'s files')
    .addOption(new Option('--task <task>', 'what the model does').choices(TASKS).default('other'))
    .option('--dataset <file>', 'evaluation dataset (JSON Lines: {"inputs": {...}, "label": ...})')
    .option('--reference <file>', 'reference outputs (JSON Lines: {"inputs": {...}, "outputs": {...}})')
    .option('--training <file>', 'training dataset, for train_accuracy')
    .option('--schema <file>', 'declared input/output schema, JSON {"inputs": [...], "outputs": [...]}')
    .option('--metrics <file>', 'self-reported metrics, JSON {"accuracy": 0.93, ...}')
    .option('--policy <file>', 'gate policy', DEFAULT_GATE_POLICY_FILE)
    .addOption(new Option('--stage <stage>', 'whose checks to run').choices(GATE_STAGES).default('registered'))
    .option('--output <file>', 'write the JSON report here')
    .option('--markdown <file>', 'write the Markdown report here')
    .option('--baseline <file-or-dir>', 'the model in production, for the regression checks (the canary and production stages run them)')
    .option('--candidate-version <semver>', 'the candidate\'s version, for contract_compat', 'local')
    .option('--baseline-version <semver>', 'the production model\'s version, for contract_compat', 'production')
    .action(async (target: string, options: ValidateOptions) => {
      const at = (file: string) => resolve(cwd, file);
      const policy = loadPolicy(at(options.policy));
      if (!policy.stageNames.includes(options.stage)) throw new UsageError(`the policy has no stage "${options.stage}" (it has: ${policy.stageNames.join(', ')})`);
      const root = at(target);
      const collected = await collectFiles(root).catch((error: Error) => {
        throw new UsageError(`cannot read ${target}: ${error.message}`);
      });
      const workspace = (await stat(root)).isDirectory() ? root : dirname(root);
      const datasets: GateDataset[] = [];
      if (options.dataset) datasets.push({ role: 'evaluation', name: options.dataset, path: at(options.dataset) });
      if (options.reference) datasets.push({ role: 'reference', name: options.reference, path: at(options.reference) });
      if (options.training) datasets.push({ role: 'training', name: options.training, path: at(options.training) });
      const stagePolicy = policy.resolve(options.stage, options.task);
      const model = collected.files.length === 1 ? collected.files[0].path : target;
      const context = new GateContext(
        {
          model,
          version: options.candidateVersion,
          task: options.task,
          declaredSchema: options.schema ? await readJson<IoSchema>(at(options.schema), '--schema') : null,
          reportedMetrics: options.metrics ? await readJson<Record<string, number>>(at(options.metrics), '--metrics') : {},
          files: collected.files.map((file) => ({ path: file.path, sha256: null, size: file.size })),
        },
        workspace,
        datasets,
        stagePolicy.settings,
        options.baseline ? await localBaseline(at(options.baseline), options.baseline, { model, version: options.baselineVersion, task: options.task }) : undefined,
      );
      const report = await new GateEngine(GATE_CHECKS).run(context, stagePolicy);
      if (options.output) await writeFile(at(options.output), `${JSON.stringify(report, null, 2)}\n`);
      if (options.markdown) await writeFile(at(options.markdown), renderMarkdown(report));
      print(report, () => humanReport(report));
      if (report.verdict === 'failed') throw new GateRefused();
    });

  program
    .command('gate')
    .description('show the latest gate report of a registered version')
    .argument('<model@version>')
    .option('--stage <stage>', 'the latest run of this stage only')
    .option('--markdown', 'print the Markdown report')
    .action(async (reference: string, options: { stage?: string; markdown?: boolean }) => {
      const { model, version } = parseVersionRef(reference);
      const api = await client();
      const { items } = await api.get<{ items: GateRunSummary[] }>(`/v1/models/${apiPath(model, 'versions', version)}/gate-runs?limit=100`);
      const latest = items.find((run) => !options.stage || run.stage === options.stage);
      if (!latest) throw new UsageError(`${model}@${version} has no gate runs${options.stage ? ` for stage ${options.stage}` : ''}`);
      const run = await api.get<GateRunSummary>(`/v1/gate-runs/${latest.id}`);
      if (options.markdown && run.report) {
        print(run, () => renderMarkdown(run.report!));
        return;
      }
      print(run, () => (run.report ? humanReport(run.report) : `gate run ${run.id} (${run.stage}) is ${run.status}, attempt ${run.attempts}\n`));
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

function humanReport(report: GateReport): string {
  const rows = report.results.map((result) => [result.id, result.severity, result.status, formatValue(result.value), formatValue(result.threshold), result.message]);
  const lines = [
    `${report.subject.model}@${report.subject.version} → ${report.stage}: ${report.verdict.toUpperCase()} (health ${report.healthScore})`,
    formatTable(['check', 'severity', 'status', 'value', 'threshold', 'message'], rows).trimEnd(),
  ];
  if (report.failedChecks.length > 0) lines.push(`refused by: ${report.failedChecks.join(', ')}`);
  for (const { check, recommendation } of report.recommendations) lines.push(`  ${check}: ${recommendation}`);
  return `${lines.join('\n')}\n`;
}

function formatValue(value: GateReport['results'][number]['value']): string {
  if (value === null) return '';
  return typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(4) : String(value);
}

async function readJson<T>(path: string, option: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new UsageError(`${option} ${path}: ${(error as Error).message}`);
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
