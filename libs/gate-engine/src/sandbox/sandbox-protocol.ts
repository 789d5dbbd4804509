import type { GateBaseline, GateDataset, GateSubject } from '../gate-context';
import type { StagePolicy } from '../gate-policy';
import type { GateProgress } from '../gate-engine';
import type { GateReport } from '../gate-report';

/**
 * What the sandbox child needs to run a gate, as plain data: the GateContext's
 * constructor arguments (its settings are the policy's) and the policy. The
 * parent writes it to the child's stdin as one JSON line.
 */
export interface SandboxRequest {
  subject: GateSubject;
  /** Directory holding the version's files at their manifest paths: the child's working directory. */
  workspace: string;
  datasets: GateDataset[];
  baseline?: GateBaseline;
  policy: StagePolicy;
}

/** What the child process measured of itself, from process.resourceUsage() as it finished. */
export interface ChildUsage {
  cpuTimeMs: number;
  maxRssBytes: number;
}

/**
 * One JSON line the child writes to the parent on {@link RESULT_FD}: the
 * engine's progress, each check as it starts and as it finishes with its
 * result (so a run killed midway still reports what it did), then the report
 * or the error that ended the run.
 */
export type SandboxMessage = { progress: GateProgress } | { report: GateReport; usage: ChildUsage } | { error: { name: string; message: string } };

/**
 * The child's channel to the parent. Not stdout: onnxruntime and whatever a
 * model drives may print there, and a stray line must not break the framing.
 */
export const RESULT_FD = 3;

/** The child's exit code when its parent went away: nobody is left to read its report. */
export const ORPHANED_EXIT_CODE = 3;
