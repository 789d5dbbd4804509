/**
 * The sandbox's child program: runs one gate with node, as
 * `node dist/libs/gate-engine/src/sandbox/gate-child.js`, under the limits its
 * parent set. Reads a {@link SandboxRequest} line from stdin, writes
 * {@link SandboxMessage} lines to {@link RESULT_FD}, and exits.
 */
import { Socket } from 'node:net';
import { GATE_CHECKS } from '../checks';
import { GateContext } from '../gate-context';
import { GateEngine } from '../gate-engine';
import { ORPHANED_EXIT_CODE, RESULT_FD, type SandboxMessage, type SandboxRequest } from './sandbox-protocol';

process.title = 'gatehouse-gate';

const channel = new Socket({ fd: RESULT_FD, readable: false, writable: true });

function send(message: SandboxMessage): void {
  channel.write(`${JSON.stringify(message)}\n`);
}

function finish(message: SandboxMessage): void {
  channel.end(`${JSON.stringify(message)}\n`, () => process.exit(0));
}

async function run(request: SandboxRequest): Promise<void> {
  const context = new GateContext(request.subject, request.workspace, request.datasets, request.policy.settings, request.baseline);
  try {
    const report = await new GateEngine(GATE_CHECKS).run(context, request.policy, (progress) => send({ progress }));
    const usage = process.resourceUsage();
    finish({ report, usage: { cpuTimeMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssBytes: usage.maxRSS * 1024 } });
  } catch (error) {
    finish({ error: { name: (error as Error).name, message: (error as Error).message } });
  }
}

let received = '';
let started = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  if (started) return;
  received += chunk;
  const end = received.indexOf('\n');
  if (end === -1) return;
  started = true;
  void run(JSON.parse(received.slice(0, end)) as SandboxRequest);
});
// The parent holds stdin open while it waits; when it goes away (exit, crash, kill -9) the pipe ends, and so does the run,
// as soon as this thread is free to hear it. The kernel's parent-death signal (see sandboxCommand) does not wait for that,
// but is lost to a parent that died before setpriv set it.
process.stdin.on('end', () => process.exit(ORPHANED_EXIT_CODE));
