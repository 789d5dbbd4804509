import { Option, type Command } from 'commander';
import type { GateReport } from '@gatehouse/gate-engine';
import { ExitError, type CommandContext } from './command-context';
import { humanReport } from './gate-report-output';
import type { ValidateOptions } from './offline-gate';
import { ValidateProgress } from './validate-progress';

/** validate: a stage's gate, offline, by the registry's own engine. */
export function addValidateCommand(program: Command, { print, cwd, io }: CommandContext): void {
  const task = new Option('--task <task>', 'what the model does, which picks the metrics measured (other measures none)');
  const policy = new Option('--policy <file>', 'gate policy');
  const stage = new Option('--stage <stage>', 'whose checks to run');
  const thresholds = new Option('--thresholds <file>', "flat thresholds JSON set over the stage's policy, e.g. config/validation.json");
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
    .addOption(thresholds)
    .option('--check-all', "also run every check the stage does not, as warnings (the verdict stays the stage's); checks for other tasks report why they do not apply")
    .option('--verbose', 'print each check on stderr as it finishes')
    .option('--output <file>', 'write the JSON report here')
    .option('--markdown <file>', 'write the Markdown report here')
    .option('--baseline <file-or-dir>', 'the model in production, for the regression checks (the canary and production stages run them)')
    .option('--candidate-version <semver>', "the candidate's version, for contract_compat", 'local')
    .option('--baseline-version <semver>', "the production model's version, for contract_compat", 'production')
    .action(async (target: string, options: ValidateOptions & { verbose?: boolean }) => {
      const { validateOffline } = await import('./offline-gate');
      const progress = new ValidateProgress(io.stderr, target, options.verbose ?? false);
      const report = await validateOffline(target, options, cwd, progress).finally(() => progress.finish());
      print(report, () => humanReport(report) + unusedDataset(report, options));
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
    thresholds.description = `${thresholds.description} (keys: ${engine.VALIDATION_THRESHOLD_KEYS.join(', ')})`;
    policy.default(engine.DEFAULT_GATE_POLICY_FILE);
    stage.choices(engine.GATE_STAGES).default('registered');
    // Commander applies an option's default when the option is added; these come later.
    for (const option of [task, policy, stage]) validate.setOptionValueWithSource(option.attributeName(), option.defaultValue, 'default');
  };
  program.hook('preSubcommand', (_program, subcommand) => {
    if (subcommand === validate) completeValidate();
  });
  validate.on('beforeHelp', completeValidate);
}

/** Task other measures nothing on the evaluation dataset: said in the flags' terms, under the report. */
function unusedDataset(report: GateReport, options: ValidateOptions): string {
  if (!options.dataset || report.subject.task !== 'other') return '';
  return `note: --dataset ${options.dataset} was not evaluated: --task other has no metric to measure on it; pass --task classification, regression or generative\n`;
}
