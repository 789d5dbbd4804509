import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { CheckResult } from '../check';
import type { GateProgress } from '../gate-engine';
import type { GateSettings } from '../gate-settings';
import { summarize, type GateReport, type SandboxResources } from '../gate-report';
import { ProcessSampler, type ProcessUsage } from './process-sampler';
import { nodeCodeReservationBytes, PRLIMIT, sandboxCommand, SETPRIV } from './sandbox-limits';
import { RESULT_FD, type SandboxMessage, type SandboxRequest } from './sandbox-protocol';
import { sandboxResult, type ChildEnding } from './sandbox-result';

/** The sandbox itself could not run the gate (a missing program, an engine bug): infrastructure, not a verdict on the model. */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

export interface SandboxOptions {
  /** Where the child's HOME and TMPDIR are made, in a directory of their own removed afterwards; the OS temporary directory by default. */
  scratchParent?: string;
  /** Aborting kills the child's process group; the run then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The program the child runs with node; tests substitute their own. */
  entry?: string;
  /** Hears the engine's progress from the child as it comes: each check as it starts and finishes. */
  onProgress?: (progress: GateProgress) => void;
}

/** What a serving container's memory is usually set to, in MiB. */
const CONTAINER_SIZES: [string, number][] = [
  ['256Mi', 256],
  ['512Mi', 512],
  ['1Gi', 1024],
  ['2Gi', 2048],
  ['4Gi', 4096],
  ['8Gi', 8192],
  ['16Gi', 16_384],
];
const SERVING_HEADROOM = 1.5;
/** How much of the child's stderr a failed run's report keeps: the end, where a fatal error is. */
const STDERR_TAIL_CHARS = 4096;
/** How long to wait, once the child exited, for pipes a straggling grandchild may still hold. */
const CLOSE_GRACE_MS = 2000;
/** The child's PATH: node's own directory and the system's, nothing of the parent's. */
const SANDBOX_PATH = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');

/** What supervising the child gave: its messages, how it ended, what it used. */
interface Supervised {
  results: CheckResult[];
  final?: Exclude<SandboxMessage, { progress: GateProgress }>;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  usage: ProcessUsage;
  stderr: string;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * Runs a gate in a child process of its own: node under prlimit with the
 * policy's memory and CPU limits, a wall-clock timeout, an environment of its
 * own (no variable of this process, so none of the registry's secrets), the
 * version's files as its working directory, and its own process group, which
 * is killed whole on timeout, on abort and once the child exits. The child
 * dies with this process (see sandboxCommand).
 *
 * A run that ends in the sandbox's limits or a crash is a verdict, not an
 * error: a failed report whose `sandbox` result says what happened and while
 * which check, after the results of the checks that finished. The report's
 * resources gain the child's peak RSS and CPU time, from its own account when
 * it finished and from /proc sampled while it ran when it was killed.
 */
export async function runInSandbox(request: SandboxRequest, options: SandboxOptions = {}): Promise<GateReport> {
  options.signal?.throwIfAborted();
  const entry = options.entry ?? childEntry();
  for (const program of [PRLIMIT, SETPRIV]) if (!existsSync(program)) throw new SandboxError(`the gate sandbox needs ${program} (util-linux) to start its child`);
  const scratch = await mkdtemp(join(options.scratchParent ?? tmpdir(), 'gatehouse-sandbox-'));
  try {
    const env = { PATH: SANDBOX_PATH, HOME: join(scratch, 'home'), TMPDIR: join(scratch, 'tmp'), LANG: 'C.UTF-8' };
    await Promise.all([mkdir(env.HOME), mkdir(env.TMPDIR)]);
    const run = await supervise(request, entry, env, await nodeCodeReservationBytes(), options);
    return interpret(request, run);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function supervise(request: SandboxRequest, entry: string, env: Record<string, string>, codeReservationBytes: number, { signal, onProgress }: SandboxOptions): Promise<Supervised> {
  const { settings } = request.policy;
  const startedAt = new Date();
  return new Promise((resolvePromise, reject) => {
    const { command, args } = sandboxCommand(settings, codeReservationBytes, entry);
    const child = spawn(command, args, {
      cwd: request.workspace,
      env,
      detached: true,
      stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const results: CheckResult[] = [];
    let final: Supervised['final'];
    let stderr = '';
    let timedOut = false;
    const sampler = child.pid ? new ProcessSampler(child.pid) : undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, settings.timeoutSeconds * 1000);
    const abort = () => killGroup();
    signal?.addEventListener('abort', abort, { once: true });

    readLines(child.stdio[RESULT_FD] as Readable, (line) => {
      const message = parseMessage(line);
      if (!message) return;
      if (!('progress' in message)) final = message;
      else {
        if (message.progress.event === 'finished') results.push(message.progress.result);
        onProgress?.(message.progress);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)));
    // A child that died before reading its request closes the pipe under the write.
    child.stdin!.on('error', () => undefined);
    child.stdin!.write(`${JSON.stringify(request)}\n`);

    child.once('error', (error) => {
      clearTimeout(timer);
      void sampler?.stop();
      signal?.removeEventListener('abort', abort);
      reject(new SandboxError(`the gate sandbox could not start: ${error.message}`));
    });
    child.once('exit', (code, exitSignal) => {
      // Whatever the child started in its group goes with it.
      killGroup();
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      // Stopped now: the pid is free for another process to take.
      const usage = sampler!.stop();
      const closed = new Promise((done) => child.once('close', done));
      let grace: NodeJS.Timeout | undefined;
      void Promise.race([closed, new Promise((done) => (grace = setTimeout(done, CLOSE_GRACE_MS)))]).then(async () => {
        clearTimeout(grace);
        child.stdin!.destroy();
        if (signal?.aborted) return reject(signal.reason as Error);
        resolvePromise({ results, final, code, signal: exitSignal, timedOut, usage: await usage, stderr, startedAt, finishedAt: new Date() });
      });
    });
  });
}

/** The report the child sent, or a failed one made of the results it sent and a `sandbox` result saying how it ended. */
function interpret(request: SandboxRequest, run: Supervised): GateReport {
  const { settings } = request.policy;
  if (run.final && 'report' in run.final) {
    const { report, usage } = run.final;
    const sandbox = sandboxResources(Math.max(usage.maxRssBytes, run.usage.peakRssBytes), usage.cpuTimeMs, settings);
    const finished = { ...report, resources: { ...report.resources, sandbox } };
    const starved = report.results.find((result) => (result.status === 'failed' || result.status === 'error') && ALLOCATION_FAILURE.test(result.message));
    if (!starved) return finished;
    return withResult(finished, sandboxResult({ kind: 'allocation', check: starved.id, message: starved.message }, settings));
  }
  const engineTimeout = run.final?.error.name === 'GateTimeoutError';
  if (run.final && !engineTimeout && !run.timedOut) throw new SandboxError(`the gate engine failed in its sandbox: ${run.final.error.message}`);
  const during = request.policy.checks[run.results.length]?.id ?? null;
  const result = sandboxResult({ ...ending(run, settings, engineTimeout), during, stderr: run.stderr.replace(ANSI_ESCAPE, '') }, settings);
  const results = [...run.results, result];
  return {
    stage: request.policy.stage,
    subject: { model: request.subject.model, version: request.subject.version, task: request.subject.task },
    baseline: request.baseline ? { model: request.baseline.subject.model, version: request.baseline.subject.version } : null,
    ...summarize(results),
    results,
    resources: {
      cpuTimeMs: run.usage.cpuTimeMs,
      peakRssBytes: run.usage.peakRssBytes,
      rssIncreaseBytes: Math.max(0, run.usage.peakRssBytes - run.usage.firstRssBytes),
      sandbox: sandboxResources(run.usage.peakRssBytes, run.usage.cpuTimeMs, settings),
    },
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    durationMs: run.finishedAt.getTime() - run.startedAt.getTime(),
  };
}

/** What onnxruntime, V8 and the C library say when an allocation is refused. */
const ALLOCATION_FAILURE = /Failed to allocate memory|bad_alloc|Allocation failed|Cannot allocate memory|out of memory/i;
/** The share of the memory limit a child's last samples reached for its death to count as running out of memory. */
const NEAR_MEMORY_LIMIT = 0.8;
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g;

/** Why a child that never reported ended, from what the kernel and its stderr say. */
function ending(run: Supervised, settings: GateSettings, engineTimeout: boolean): ChildEnding {
  if (run.timedOut || engineTimeout) return { kind: 'timeout' };
  if (run.signal === 'SIGXCPU' || (run.signal === 'SIGKILL' && run.usage.cpuTimeMs >= settings.cpuSeconds * 1000)) return { kind: 'cpu_limit', signal: run.signal };
  // A thread that cannot get its stack aborts without a word: memory near the limit at the last sample tells.
  const nearLimit = run.usage.peakDataBytes >= NEAR_MEMORY_LIMIT * settings.memoryLimitMiB * 1024 * 1024;
  if (ALLOCATION_FAILURE.test(run.stderr) || nearLimit) return { kind: 'memory_limit', signal: run.signal, code: run.code };
  if (run.signal === 'SIGKILL') return { kind: 'killed' };
  if (run.signal) return { kind: 'crash', signal: run.signal };
  return { kind: 'exit', code: run.code ?? -1 };
}

function withResult(report: GateReport, result: CheckResult): GateReport {
  const results = [...report.results, result];
  return { ...report, ...summarize(results), results };
}

/** The child's peak and CPU time, what serving the model would take by that peak, and the limits it ran under. */
export function sandboxResources(peakRssBytes: number, cpuTimeMs: number, settings: GateSettings): SandboxResources {
  const servingEstimateBytes = Math.round(peakRssBytes * SERVING_HEADROOM);
  const container = CONTAINER_SIZES.find(([, mebibytes]) => mebibytes * 1024 * 1024 >= servingEstimateBytes);
  return {
    peakRssBytes,
    cpuTimeMs,
    servingEstimateBytes,
    recommendedContainer: container?.[0] ?? null,
    limits: { memoryLimitMiB: settings.memoryLimitMiB, cpuSeconds: settings.cpuSeconds, timeoutSeconds: settings.timeoutSeconds },
  };
}

/**
 * The compiled child program. Run from its TypeScript source (under ts-jest)
 * this module starts the build's copy, which npm test makes before the suites.
 */
function childEntry(): string {
  const beside = join(__dirname, 'gate-child.js');
  if (existsSync(beside)) return beside;
  const built = resolve(__dirname, '../../../../dist/libs/gate-engine/src/sandbox/gate-child.js');
  if (existsSync(built)) return built;
  throw new SandboxError(`the gate sandbox's child program ${built} is missing: run "npm run build"`);
}

/** Calls `onLine` with each line of the stream; a long line (a large report) is gathered in parts, never rescanned. */
function readLines(stream: Readable, onLine: (line: string) => void): void {
  let parts: string[] = [];
  stream.setEncoding('utf8').on('data', (chunk: string) => {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      parts.push(chunk.slice(start, end));
      onLine(parts.join(''));
      parts = [];
      start = end + 1;
    }
    if (start < chunk.length) parts.push(chunk.slice(start));
  });
}

/** A line of the protocol, or undefined for one cut short by a kill. */
function parseMessage(line: string): SandboxMessage | undefined {
  try {
    return JSON.parse(line) as SandboxMessage;
  } catch {
    return undefined;
  }
}
