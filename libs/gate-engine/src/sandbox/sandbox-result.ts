import type { CheckResult } from '../check';
import type { GateSettings } from '../gate-settings';

/** The id of the result a report shows when the sandbox, not a check, ended the run. */
export const SANDBOX_CHECK_ID = 'sandbox';

/** How a child that never reported ended. */
export type ChildEnding =
  | { kind: 'timeout' }
  | { kind: 'cpu_limit'; signal: NodeJS.Signals | null }
  | { kind: 'memory_limit'; signal: NodeJS.Signals | null; code: number | null }
  | { kind: 'killed' }
  | { kind: 'crash'; signal: NodeJS.Signals }
  | { kind: 'exit'; code: number };

/**
 * Why the sandbox failed a run: the child ended without a report (`during`
 * names the check it was in, null past the last one), or a check could not
 * allocate memory within the limit.
 */
export type SandboxEnding = { kind: 'allocation'; check: string; message: string } | (ChildEnding & { during: string | null; stderr: string });

/** What a fatal signal means, in plain words. */
const SIGNAL_MEANINGS: Partial<Record<NodeJS.Signals, string>> = {
  SIGSEGV: 'an invalid memory access',
  SIGBUS: 'a memory access the hardware refused',
  SIGILL: 'an illegal CPU instruction',
  SIGFPE: 'an arithmetic fault such as an integer division by zero',
  SIGABRT: 'an abort on a fatal error',
  SIGTRAP: 'a fatal error trap',
};

const MEMORY_ADVICE =
  'Look for operators whose output size comes from data (Expand, ConstantOfShape, Tile, Range, Resize) and for symbolic dimensions resolved too large (settings.dimensions, settings.batchSize); if the model really needs this much memory, raise settings.memoryLimitMiB.';

const RECOMMENDATIONS: Record<SandboxEnding['kind'], string> = {
  timeout:
    'Make the model cheaper to run (fewer or smaller operators, bounded Loop trip counts, smaller symbolic dimensions in settings.dimensions), or raise settings.timeoutSeconds in the gate policy if it is meant to take this long.',
  cpu_limit: 'Make the model cheaper to run, or raise settings.cpuSeconds: it counts the time of every onnxruntime thread, and settings.intraOpThreads caps how many there are.',
  memory_limit: MEMORY_ADVICE,
  allocation: MEMORY_ADVICE,
  killed: 'Give the registry host or container more memory than settings.memoryLimitMiB, or lower that limit so that a gate run fails cleanly before the host runs out.',
  crash:
    'Load and run the model with onnxruntime outside the registry to reproduce it (the end of the sandbox stderr is in the details); a model that crashes the runtime cannot be served with it: export it again with a supported opset and standard operators.',
  exit: 'Load and run the model with onnxruntime outside the registry to reproduce it (the end of the sandbox stderr is in the details).',
};

/** The critical failed result a report shows for a run the sandbox ended, in plain words, with what to do about it. */
export function sandboxResult(ending: SandboxEnding, settings: GateSettings): CheckResult {
  const limits = { memoryLimitMiB: settings.memoryLimitMiB, cpuSeconds: settings.cpuSeconds, timeoutSeconds: settings.timeoutSeconds };
  const { value, threshold, message } = describe(ending, settings);
  const details =
    ending.kind === 'allocation'
      ? { ending: ending.kind, check: ending.check, limits }
      : {
          ending: ending.kind,
          during: ending.during,
          signal: 'signal' in ending ? ending.signal : null,
          exitCode: 'code' in ending ? ending.code : null,
          limits,
          stderr: ending.stderr,
        };
  return {
    id: SANDBOX_CHECK_ID,
    family: 'validation',
    severity: 'critical',
    status: 'failed',
    value,
    threshold,
    message,
    details,
    durationMs: 0,
    recommendation: RECOMMENDATIONS[ending.kind],
  };
}

function describe(ending: SandboxEnding, settings: GateSettings): Pick<CheckResult, 'value' | 'threshold' | 'message'> {
  const memory = `the sandbox's ${settings.memoryLimitMiB} MiB (settings.memoryLimitMiB)`;
  if (ending.kind === 'allocation') {
    return {
      value: 'allocation failed',
      threshold: `${settings.memoryLimitMiB} MiB`,
      message: `\`${ending.check}\` could not allocate the memory the model asked for within ${memory}: ${ending.message}`,
    };
  }
  const during = ending.during ? `while \`${ending.during}\` ran` : 'after its last check';
  switch (ending.kind) {
    case 'timeout':
      return {
        value: 'timeout',
        threshold: `${settings.timeoutSeconds} s`,
        message: `the gate run was still going after its ${settings.timeoutSeconds} s limit (settings.timeoutSeconds) ${during}, so the sandbox stopped it`,
      };
    case 'cpu_limit':
      return {
        value: ending.signal ?? 'cpu limit',
        threshold: `${settings.cpuSeconds} s CPU`,
        message: `the run used up its ${settings.cpuSeconds} s of CPU time (settings.cpuSeconds) ${during}, and the kernel stopped it${ending.signal ? ` with ${ending.signal}` : ''}`,
      };
    case 'memory_limit':
      return {
        value: ending.signal ?? `exit ${ending.code}`,
        threshold: `${settings.memoryLimitMiB} MiB`,
        message: `the run needed more memory than ${memory} ${during}: an allocation was refused and the process died${ending.signal ? ` with ${ending.signal}` : ` with exit code ${ending.code}`}`,
      };
    case 'killed':
      return {
        value: 'SIGKILL',
        threshold: null,
        message: `the sandbox was killed with SIGKILL ${during}, not by its own limits: on Linux that is most often the kernel's out-of-memory killer, when the host or container ran out of memory before ${memory} were used`,
      };
    case 'crash':
      return {
        value: ending.signal,
        threshold: null,
        message: `the sandbox crashed with ${ending.signal} (${SIGNAL_MEANINGS[ending.signal] ?? 'a fatal signal'}) ${during}: a native fault in onnxruntime or in the operators the model uses`,
      };
    case 'exit':
      return { value: `exit ${ending.code}`, threshold: null, message: `the sandbox exited with code ${ending.code} ${during}, before it reported` };
  }
}
