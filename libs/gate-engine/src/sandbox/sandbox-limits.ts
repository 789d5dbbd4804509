import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { GateSettings } from '../gate-settings';

/** util-linux's prlimit: sets the limits of the process it then executes. */
export const PRLIMIT = '/usr/bin/prlimit';
/** util-linux's setpriv: sets the parent-death signal of the process it then executes. */
export const SETPRIV = '/usr/bin/setpriv';

const MIB = 1024 * 1024;

/**
 * The prlimit options that put a gate run's limits on the process it starts.
 *
 * Memory is RLIMIT_DATA, not RLIMIT_AS. Measured on node 20 with
 * onnxruntime-node: RLIMIT_AS counts reserved address space, and V8 reserves
 * 10 GiB for every WebAssembly memory (the artifact scan's xz decoder, and
 * node's own fetch, which playwright uses), while the process at rest already
 * spans about 1 GiB and glibc adds a 64 MiB arena per onnxruntime thread. At 4
 * GiB of address space `new WebAssembly.Memory()` fails and node's fetch
 * crashes. RLIMIT_DATA counts only private writable memory (heaps, tensors,
 * thread stacks at 8 MiB each): about 100 MiB at rest, and what a model makes
 * onnxruntime allocate. Past it, onnxruntime's allocator reports "Failed to
 * allocate memory" and V8 aborts (SIGABRT) with "Allocation failed".
 *
 * Both limits are soft, leaving the hard ones as they were: the sandbox
 * contains a model, which is data onnxruntime interprets and cannot call
 * setrlimit, and a check may raise the soft limit for a helper process of its
 * own (see {@link unlimitedCommand}). The wall-clock timeout backs the CPU
 * limit up; SIGXCPU at the soft limit ends node.
 */
export function limitOptions(settings: Pick<GateSettings, 'memoryLimitMiB' | 'cpuSeconds'>, codeReservationBytes: number): string[] {
  return [`--data=${settings.memoryLimitMiB * MIB + codeReservationBytes}:`, `--cpu=${settings.cpuSeconds}:`];
}

/**
 * The command line that starts the sandbox's child: node running `entry`
 * under the policy's limits (prlimit), killed by the kernel the moment the
 * process that started it dies (setpriv's parent-death signal, which
 * survives both programs' exec). The kernel needs nothing from the child for
 * that, so it holds while a model run keeps node's main thread busy (a Loop
 * of 2^62 iterations), and costs the child nothing, where a watcher thread of
 * its own would be a second node environment taking ~27 ms of CPU at the
 * start of every gate. What the child started ends with it: a memory probe
 * once its stdin ends, a browser once its pipe closes. The signal follows the
 * thread that spawned the child, so start it from the main thread of a
 * process that outlives the run.
 */
export function sandboxCommand(settings: Pick<GateSettings, 'memoryLimitMiB' | 'cpuSeconds'>, codeReservationBytes: number, entry: string): { command: string; args: string[] } {
  return { command: SETPRIV, args: ['--pdeathsig', 'SIGKILL', '--', PRLIMIT, ...limitOptions(settings, codeReservationBytes), '--', process.execPath, entry] };
}

/** Sums the anonymous private read-write-execute mappings of the process it runs in, in bytes. */
const MEASURE_CODE_RESERVATION = `let bytes = 0;
for (const line of require('node:fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')) {
  const [range, permissions, , , inode] = line.split(/\\s+/);
  if (permissions === 'rwxp' && inode === '0') { const [start, end] = range.split('-'); bytes += parseInt(end, 16) - parseInt(start, 16); }
}
process.stdout.write(String(bytes));`;

let codeReservation: Promise<number> | undefined;

/**
 * The address space node reserves read-write-execute before it runs a line
 * of the gate: V8's code range. Node 24's V8 maps all of it (about 510 MiB)
 * that way at start, so RLIMIT_DATA counts it although almost none of it is
 * ever touched, and a limit below it kills node before the gate starts
 * ("Failed to reserve virtual memory for CodeRange"); node 20 and 22 reserve
 * it inaccessible, leaving a fraction of a MiB. The sandbox adds it to the
 * policy's limit, which then bounds what the model makes node allocate on
 * every node version alike. Measured once, in a fresh node of this one's
 * binary, started as the sandbox's child is.
 */
export function nodeCodeReservationBytes(): Promise<number> {
  // A failed measurement is not kept: the next gate measures again rather than failing for good.
  codeReservation ??= promisify(execFile)(process.execPath, ['-e', MEASURE_CODE_RESERVATION], { env: {} })
    .then(({ stdout }) => {
      const bytes = Number(stdout);
      if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`could not measure node's code reservation: got "${stdout}"`);
      return bytes;
    })
    .catch((error: unknown) => {
      codeReservation = undefined;
      throw error;
    });
  return codeReservation;
}

/**
 * The command line that runs `command` with the sandbox's memory limit
 * lifted, for a check that starts a helper process needing more than the
 * model's budget (a browser reserves and commits memory of its own). Spawn
 * `[command, ...args]` of the result instead of the helper itself. The CPU
 * limit is per process and counts from the helper's start, so it stays.
 *
 * A helper still belongs to the sandbox's process group, which is killed
 * when the run ends; one that starts its own group (playwright launches
 * browsers detached) must end by itself when the sandbox dies, as a browser
 * driven over --remote-debugging-pipe does when the pipe closes.
 */
export function unlimitedCommand(command: string, args: readonly string[] = []): { command: string; args: string[] } {
  return { command: PRLIMIT, args: ['--data=unlimited:', '--', command, ...args] };
}

/**
 * An executable script that runs `executable` through {@link unlimitedCommand}
 * with the arguments it is given, for APIs that take only a path, such as
 * playwright's `launch({ executablePath })`. Written into `directory` (the
 * sandbox's TMPDIR, say); returns its path.
 */
export async function unlimitedLauncher(executable: string, directory: string): Promise<string> {
  const { command, args } = unlimitedCommand(executable);
  const path = join(directory, 'gatehouse-unlimited-launcher');
  await writeFile(path, `#!/bin/sh\nexec ${[command, ...args].map(shellQuoted).join(' ')} "$@"\n`);
  await chmod(path, 0o755);
  return path;
}

function shellQuoted(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
