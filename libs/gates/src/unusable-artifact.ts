import { BlobCorruptError, BlobMissingError, BlobNotFoundError } from '@gatehouse/storage';
import { summarize, type CheckResult, type GateReport, type StagePolicy } from '@gatehouse/gate-engine';

/** The id of the check-like result a report shows when the gate could not lay out the version at all. */
const WORKSPACE_CHECK_ID = 'workspace';

/**
 * What the filesystem answers when a path itself cannot exist here: a segment
 * longer than the name limit, a file where a directory must be (`x` and
 * `x/y`), a name the filesystem refuses. The same path fails the same way on
 * every attempt and every replica.
 */
const PATH_ERROR_CODES = new Set(['ENAMETOOLONG', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EINVAL', 'ELOOP', 'EILSEQ']);

/**
 * A gate error no retry can fix: the version's files cannot be laid out for
 * the checks, because a path cannot exist on this filesystem or the bytes
 * behind a content address are in no store. The run fails at once, with a
 * result that says why, instead of retrying into an error.
 */
export class UnusableArtifactError extends Error {
  constructor(
    message: string,
    readonly code: 'unmaterializable_path' | 'blob_unavailable',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'UnusableArtifactError';
  }
}

/** The error as an {@link UnusableArtifactError} if it is one in substance; undefined for what a retry may fix (database, storage unreachable). */
export function asUnusableArtifact(error: unknown): UnusableArtifactError | undefined {
  if (error instanceof UnusableArtifactError) return error;
  if (error instanceof BlobNotFoundError || error instanceof BlobMissingError || error instanceof BlobCorruptError) {
    return new UnusableArtifactError(`a stored file cannot be read: ${error.message}`, 'blob_unavailable', { cause: error.message });
  }
  // Duck-typed: system errors need not share this realm's Error prototype.
  const system = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof system.code === 'string' && PATH_ERROR_CODES.has(system.code) && typeof system.path === 'string') {
    return new UnusableArtifactError(`a file path cannot be laid out on the gate's filesystem (${system.code}): ${system.message}`, 'unmaterializable_path', {
      errno: system.code,
      syscall: system.syscall,
    });
  }
  return undefined;
}

/** A failed report with the one result that stopped the gate, so the run reads like any refused gate. */
export function unusableArtifactReport(error: UnusableArtifactError, policy: StagePolicy, subject: GateReport['subject'], startedAt: Date): GateReport {
  const result: CheckResult = {
    id: WORKSPACE_CHECK_ID,
    family: 'validation',
    severity: 'critical',
    status: 'failed',
    value: null,
    threshold: null,
    message: `the gate could not lay out the version's files, so none of its ${policy.checks.length} check(s) ran: ${error.message}`,
    details: { code: error.code, ...error.details },
    durationMs: 0,
    recommendation:
      error.code === 'unmaterializable_path'
        ? 'Register a new version whose file paths have segments of at most 255 bytes and no file that is also a directory (not both x and x/y).'
        : 'The stored bytes are gone: register the version again from its original files, or restore the blob store from backup.',
  };
  const finishedAt = new Date();
  return {
    stage: policy.stage,
    subject,
    baseline: null,
    ...summarize([result]),
    results: [result],
    resources: { cpuTimeMs: 0, peakRssBytes: 0, rssIncreaseBytes: 0 },
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  };
}
