import { Command } from 'commander';
import { addAdminCommands } from './admin-commands';
import { addAnalysisCommands } from './analysis-commands';
import { addAuditCommands } from './audit-commands';
import { commandContext, reportFailure, type CliIo } from './command-context';
import { addConnectionCommands } from './connection-commands';
import { addDatasetCommands } from './dataset-commands';
import { addGateCommands } from './gate-commands';
import { addValidateCommand } from './validate-command';
import { addAliasCommands } from './alias-commands';
import { addModelCommands } from './model-commands';
import { addPolicyCommands } from './policy-commands';
import { addPromotionCommands } from './promotion-commands';
import { addSigningCommands } from './signing-commands';
import { addTelemetryCommands } from './telemetry-commands';
import { addTokenCommands } from './token-commands';
import { addLineageCommand, addVersionCommands } from './version-commands';
import { addWebhookCommands } from './webhook-commands';

/** Runs one `gatehouse` invocation and returns its exit code: 0 done, 1 failed, 2 misused. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportFailure(error, io.stderr);
  }
}

/** The commands in the order `gatehouse --help` lists them. */
function buildProgram(io: CliIo): Command {
  const program = new Command('gatehouse')
    .description('Command-line client for the Gatehouse model registry')
    .option('--url <url>', 'registry URL (default: saved config, $GATEHOUSE_URL, http://localhost:8080)')
    .option('--token <token>', 'API token (default: saved config, $GATEHOUSE_TOKEN)')
    .option('--json', 'print raw JSON for scripts')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError();

  const context = commandContext(program, io);
  addConnectionCommands(program, context);
  addModelCommands(program, context);
  addDatasetCommands(program, context);
  addVersionCommands(program, context);
  addAliasCommands(program, context);
  addTokenCommands(program, context);
  addAuditCommands(program, context);
  addSigningCommands(program, context);
  addValidateCommand(program, context);
  addGateCommands(program, context);
  addPolicyCommands(program, context);
  addPromotionCommands(program, context);
  addTelemetryCommands(program, context);
  addAnalysisCommands(program, context);
  addLineageCommand(program, context);
  addAdminCommands(program, context);
  addWebhookCommands(program, context);
  return program;
}
