/**
 * The gate sandbox: each gate run in a child process of its own, under memory,
 * CPU and wall-clock limits, with an environment and working directory of its
 * own. A check that must start a helper process beyond the memory limit (a
 * browser) runs it through unlimitedCommand or unlimitedLauncher.
 */
export { runInSandbox, sandboxResources, SandboxError, type SandboxOptions } from './gate-sandbox';
export { unlimitedCommand, unlimitedLauncher } from './sandbox-limits';
export type { SandboxRequest } from './sandbox-protocol';
export { SANDBOX_CHECK_ID } from './sandbox-result';
