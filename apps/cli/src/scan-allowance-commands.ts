import type { Command } from 'commander';
import type { ScanAllowances } from './api-types';
import type { CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import { formatFields } from './output';
import { collect } from './references';

/** models allow / models allowances: what one model's artifact scan allows beyond the gate policy. */
export function addScanAllowanceCommands(models: Command, { client, print }: CommandContext): void {
  models
    .command('allow')
    .description("set the pickle globals and ONNX operator domains this model's artifact scan allows beyond the gate policy (admin; replaces the current lists, audited)")
    .argument('<model>')
    .option('--global <module.name>', 'a pickle global to allow, as module.name or module.* (repeatable; none revokes them all)', collect, [])
    .option('--onnx-domain <domain>', 'an ONNX operator domain to allow, e.g. com.microsoft (repeatable)', collect, [])
    .requiredOption('--reason <text>', 'why these are trusted: recorded in the audit log')
    .action(async (model: string, options: { global: string[]; onnxDomain: string[]; reason: string }) => {
      const api = await client();
      const allowances = await api.putJson<ScanAllowances>(`/v1/models/${apiPath(model)}/scan-allowances`, {
        allowedGlobals: options.global,
        allowedOnnxDomains: options.onnxDomain,
        reason: options.reason,
      });
      print(allowances, () => `${describe(allowances)}gate runs queued from now use them; re-scan what serves or is validated with: gatehouse admin rescan\n`);
    });

  models
    .command('allowances')
    .description("show what this model's artifact scan allows beyond the gate policy, and why")
    .argument('<model>')
    .action(async (model: string) => {
      const allowances = await (await client()).get<ScanAllowances>(`/v1/models/${apiPath(model)}/scan-allowances`);
      print(allowances, () => describe(allowances));
    });
}

function describe(allowances: ScanAllowances): string {
  const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none beyond the gate policy');
  return formatFields([
    ['model', allowances.model],
    ['globals', list(allowances.allowedGlobals)],
    ['onnx domains', list(allowances.allowedOnnxDomains)],
    ['reason', allowances.reason],
    ['changed by', allowances.changedBy],
    ['changed at', allowances.changedAt],
  ]);
}
