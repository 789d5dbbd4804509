import type { Command } from 'commander';
import type { AuditEvent, ChainVerification } from './api-types';
import { ExitError, type CommandContext } from './command-context';
import { formatTable } from './output';

/** audit (the log, newest first) and audit verify (the hash chain). */
export function addAuditCommands(program: Command, { client, print }: CommandContext): void {
  const audit = program
    .command('audit')
    .description('the audit log, newest first')
    .option('--model <name>', 'events about this model and its versions')
    .option('--subject <subject>', 'e.g. version:fraud@1.2.0')
    .option('--action <action>', 'e.g. version.committed')
    .option('--actor <token-name>')
    .option('--since <iso-time>')
    .option('--limit <n>', 'page size', '50')
    .option('--all', 'follow every page')
    .action(async (options: { model?: string; subject?: string; action?: string; actor?: string; since?: string; limit: string; all?: boolean }) => {
      const { all, ...query } = options;
      const events = await (await client()).list<AuditEvent>('/v1/audit', query, !!all);
      print(events, () =>
        formatTable(
          ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'SUBJECT'],
          events.map((e) => [e.seq, e.occurredAt, e.actor, e.action, e.subject]),
        ),
      );
    });
  audit
    .command('verify')
    .description('recompute the hash chain; exit 1 if it is broken')
    .action(async () => {
      const result = await (await client()).get<ChainVerification>('/v1/audit/verify');
      print(result, () =>
        result.ok
          ? `audit chain intact: ${result.checked} events, head ${result.head.seq} ${result.head.hash}\n`
          : `audit chain BROKEN at seq ${result.firstBrokenSeq}: ${result.reason}\n`,
      );
      if (!result.ok) throw new ExitError(1);
    });
}
