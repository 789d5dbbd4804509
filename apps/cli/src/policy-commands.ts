import type { Command } from 'commander';
import type { EffectiveGatePolicy } from './api-types';
import type { CommandContext } from './command-context';
import { withQuery } from './gatehouse-client';
import { formatTable } from './output';

/** policy show: the gate policy in force, as the registry's gates run it. */
export function addPolicyCommands(program: Command, { client, print }: CommandContext): void {
  const policy = program.command('policy').description('the gate policy in force on the registry');
  policy
    .command('show')
    .description("each stage's checks in the order its gate runs them, with severities and thresholds (extends applied)")
    .option('--stage <stage>', 'only this stage')
    .option('--task <task>', 'resolve the thresholds for this task (default: classification)')
    .action(async (options: { stage?: string; task?: string }) => {
      const shown = await (await client()).get<EffectiveGatePolicy>(withQuery('/v1/gate-policy', { stage: options.stage, task: options.task }));
      print(shown, () => describePolicy(shown));
    });
}

function describePolicy(policy: EffectiveGatePolicy): string {
  const stages = policy.stages.map((stage) => {
    const heading = `${stage.stage}${stage.extends ? ` (extends ${stage.extends})` : ''}`;
    const table = formatTable(
      ['CHECK', 'SEVERITY', 'THRESHOLDS'],
      stage.checks.map((check) => [check.id, check.severity, keyValues(check.thresholds)]),
    );
    return `${heading}\n${table}settings: ${keyValues(stage.settings) ?? '-'}\n`;
  });
  const task = policy.stages[0]?.task;
  return [`gate policy ${policy.source}${task ? `, thresholds for ${task}` : ''}\n`, ...stages].join('\n');
}

/** `maxMiB=100 required=true`, or null for none; lists and objects as JSON. */
function keyValues(values: Record<string, unknown>): string | null {
  const entries = Object.entries(values).map(([key, value]) => `${key}=${value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  return entries.length > 0 ? entries.join(' ') : null;
}
