/**
 * The sandbox's child program: runs one gate with node, as
 * `node dist/libs/gate-engine/src/sandbox/gate-child.js`, under the limits its
 * parent set. Reads a {@link SandboxRequest} line from stdin, writes
 * {@link SandboxMessage} lines to {@link RESULT_FD}, and exits.
 */
import { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { GATE_CHECKS } from '../checks';
import { GateContext } from '../gate-context';
import { GateEngine } from '../gate-engine';
import { ORPHANED_EXIT_CODE, RESULT_FD, type SandboxMessage, type SandboxRequest } from './sandbox-protocol';

process.title = 'gatehouse-gate';

/**
 * onnxruntime-node runs a model on this thread, so a long run (a Loop of
 * 2^62 iterations) keeps stdin's end from ever being heard. A worker thread
 * watches for the parent instead: once this process is orphaned (its parent
 * pid changes) it kills the process group, this process and whatever it
 * started, or this process alone when it leads no group.
 */
const PARENT_WATCH = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid === workerData.parent) return;
  try { process.kill(-process.pid, 'SIGKILL'); } catch { process.kill(process.pid, 'SIGKILL'); }
}, 500);
`;
// A worker is an isolate with a code range of its own, which node 24 reserves writable at its default size (about 510
// MiB, counted by the sandbox's RLIMIT_DATA: see nodeCodeReservationBytes); this one runs a few lines and needs 8.
new Worker(PARENT_WATCH, { eval: true, workerData: { parent: process.ppid }, resourceLimits: { codeRangeSizeMb: 8 } }).unref();
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
// as soon as this thread is free to hear it.
process.stdin.on('end', () => process.exit(ORPHANED_EXIT_CODE));
