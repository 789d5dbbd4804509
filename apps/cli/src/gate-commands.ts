import { Option, type Command } from 'commander';
import type { GateReport } from '@gatehouse/gate-engine';
import { ExitError, type CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import type { ValidateOptions } from './offline-gate';
import { formatTable } from './output';
import { parseVersionRef, UsageError } from './references';

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
export function addGateCommands(program: Command, { client, print, cwd }: CommandContext): void {
  const task = new Option('--task <task>', 'what the model does');
  const policy = new Option('--policy <file>', 'gate policy');
  const stage = new Option('--stage <stage>', 'whose checks to run');
  const validate = program
    .command('validate')
    .description("run a stage's gate on a local model file or directory, offline; exits 1 when a critical check fails")
    .argument('<file-or-dir>', "an .onnx file or a directory holding the version's files")
    .addOption(task)
    .option('--dataset <file>', 'evaluation dataset (JSON Lines: {"inputs": {...}, "label": ...})')
    .option('--reference <file>', 'reference outputs (JSON Lines: {"inputs": {...}, "outputs": {...}})')
    .option('--training <file>', 'training dataset, for train_accuracy')
    .option('--input-example <file>', 'input examples (JSON Lines: {"inputs": {...}}, each a complete feed) to run the model on instead of synthesised inputs')
    .option('--schema <file>', 'declared input/output schema, JSON {"inputs": [...], "outputs": [...]}')
    .option('--metrics <file>', 'self-reported metrics, JSON {"accuracy": 0.93, ...}')
    .addOption(policy)
    .addOption(stage)
    .option('--output <file>', 'write the JSON report here')
    .option('--markdown <file>', 'write the Markdown report here')
    .option('--baseline <file-or-dir>', 'the model in production, for the regression checks (the canary and production stages run them)')
    .option('--candidate-version <semver>', "the candidate's version, for contract_compat", 'local')
    .option('--baseline-version <semver>', "the production model's version, for contract_compat", 'production')
    .action(async (target: string, options: ValidateOptions) => {
      const { validateOffline } = await import('./offline-gate');
      const report = await validateOffline(target, options, cwd);
      print(report, () => humanReport(report));
      if (report.verdict === 'failed') throw new ExitError(1);
    });

  // validate's choices and default policy file come from the gate engine and the
  // config lib, whose loading (onnxruntime-node, class-validator) would nearly
  // triple every command's start-up. They are filled in when validate is
  // dispatched to or prints its help (`gatehouse help validate` prints it without
  // dispatching), synchronously, as commander prints help.
  let completed = false;
  const completeValidate = () => {
    if (completed) return;
    completed = true;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const engine = require('./offline-gate') as typeof import('./offline-gate');
    task.choices(engine.TASKS).default('other');
    policy.default(engine.DEFAULT_GATE_POLICY_FILE);
    stage.choices(engine.GATE_STAGES).default('registered');
    // Commander applies an option's default when the option is added; these come later.
    for (const option of [task, policy, stage]) validate.setOptionValueWithSource(option.attributeName(), option.defaultValue, 'default');
  };
  program.hook('preSubcommand', (_program, subcommand) => {
    if (subcommand === validate) completeValidate();
  });
  validate.on('beforeHelp', completeValidate);

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
        const { renderMarkdown } = await import('./offline-gate');
        print(run, () => renderMarkdown(run.report!));
        return;
      }
      print(run, () => (run.report ? humanReport(run.report) : `gate run ${run.id} (${run.stage}) is ${run.status}, attempt ${run.attempts}\n`));
    });
}

function humanReport(report: GateReport): string {
  const rows = report.results.map((result) => [
    result.id,
    result.severity,
    result.blockedBy ? `blocked by ${result.blockedBy}` : result.status,
    formatValue(result.value),
    formatValue(result.threshold),
    result.message,
  ]);
  const lines = [
    `${report.subject.model}@${report.subject.version} → ${report.stage}: ${report.verdict.toUpperCase()} (health ${report.healthScore})`,
    formatTable(['check', 'severity', 'status', 'value', 'threshold', 'message'], rows).trimEnd(),
  ];
  if (report.failedChecks.length > 0) lines.push(`refused by: ${report.failedChecks.join(', ')}`);
  if (report.blockedChecks?.length) lines.push(`not run because of them: ${report.blockedChecks.join(', ')}`);
  // The refusing checks' advice comes first, each distinct advice once.
  for (const { check, recommendation } of report.recommendations) lines.push(`  ${check}: ${recommendation}`);
  return `${lines.join('\n')}\n`;
}

function formatValue(value: GateReport['results'][number]['value']): string {
  if (value === null) return '';
  return typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(4) : String(value);
}
