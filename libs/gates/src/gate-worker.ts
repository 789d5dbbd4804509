import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditLog } from '@gatehouse/audit';
import { VersionSecurityService, VersionService, type GateSubjectRecord, type VersionStatus } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { TransactionRunner } from '@gatehouse/database';
import { MetricsService } from '@gatehouse/metrics';
import { ArtifactWorkspace, type Workspace } from './artifact-workspace';
import { CanaryAnalysisRecords } from './canary-analysis-records';
import {
  CANARY_ANALYSIS_CHECK_ID,
  GateEngine,
  inferredSchemaOf,
  runInSandbox,
  type GateBaseline,
  type GateReport,
  type IoSchema,
  type SandboxRequest,
} from '@gatehouse/gate-engine';
import type { GateRunEntity, GateRunError } from './gate-run.entity';
import { GateRunFinished } from './gate-run-events';
import { GateRunProgressWriter } from './gate-run-progress';
import { GateRunRepository } from './gate-run.repository';
import { decideSecurity, scannerVersionOf, scanOutcome, scanPolicyDigest, stampScanResult } from './scan-verdict';
import { asUnusableArtifact, unusableArtifactReport } from './unusable-artifact';

export const GATE_ENGINE = Symbol('GATE_ENGINE');

/** The audit actor for what the worker decides on its own. */
const WORKER_ACTOR = 'gatehouse:gate-worker';
/** How long shutdown waits for a run in progress before killing its sandbox and leaving it to its lease. */
const SHUTDOWN_GRACE_MS = 10_000;

type Finish = { status: 'passed' | 'failed' | 'error'; report: GateReport | null; error?: GateRunError };

/**
 * Claims due gate runs from gate_runs and executes each in a sandbox, a
 * child process of its own (see runInSandbox): this process never loads a
 * candidate model, so a model that crashes onnxruntime, exhausts memory or
 * never finishes fails its run while the API goes on answering.
 * A claim is a lease, renewed here while the sandbox works: if this process
 * dies, the lease lapses (and the sandbox with it) and any replica (or this
 * one, restarted) claims the run again; a lost lease or shutdown kills the
 * sandbox. Infrastructure failures are retried with backoff; failed checks
 * and a sandbox's limits or crash are a verdict, not a failure, and are never
 * retried, and neither is a version whose files cannot be laid out at all.
 * Re-scans record only the version's security verdict: its status and
 * latest gate stay as they were.
 */
@Injectable()
export class GateWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('GateWorker');
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly active = new Set<Promise<void>>();
  /** One per run in progress: aborting it kills the run's sandbox. */
  private readonly sandboxes = new Set<AbortController>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private stopped = true;

  constructor(
    private readonly runs: GateRunRepository,
    private readonly versions: VersionService,
    private readonly security: VersionSecurityService,
    private readonly workspaces: ArtifactWorkspace,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    private readonly runFinished: GateRunFinished,
    private readonly canaryAnalyses: CanaryAnalysisRecords,
    private readonly metrics: MetricsService,
    @Inject(GATE_ENGINE) private readonly engine: GateEngine,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.gates.workers === 0) return;
    this.stopped = false;
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.active]), new Promise((resolve) => (grace = setTimeout(resolve, SHUTDOWN_GRACE_MS)))]);
    clearTimeout(grace);
    for (const sandbox of this.sandboxes) sandbox.abort(new Error('the registry is shutting down'));
    await Promise.allSettled([...this.active]);
  }

  /** Looks for work now rather than at the next poll. */
  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      while (!this.stopped && this.active.size < this.config.gates.workers) {
        const run = await this.runs.claim(this.owner, this.config.gates.leaseSeconds);
        if (!run) break;
        const execution = this.execute(run).finally(() => {
          this.active.delete(execution);
          this.wake();
        });
        this.active.add(execution);
      }
    } catch (error) {
      this.logger.warn(`could not claim gate runs: ${(error as Error).message}`);
    } finally {
      this.polling = false;
      if (!this.stopped) this.schedule(this.config.gates.pollMs);
    }
  }

  private async execute(run: GateRunEntity): Promise<void> {
    const claimedAt = performance.now();
    const sandbox = new AbortController();
    this.sandboxes.add(sandbox);
    const heartbeat = setInterval(
      () => {
        this.runs.renewLease(run.id, this.owner, this.config.gates.leaseSeconds).then(
          (held) => {
            this.metrics.gateLeaseRenewal(held ? 'renewed' : 'lost');
            if (!held) sandbox.abort(new Error('the run lost its lease'));
          },
          (error: Error) => {
            this.metrics.gateLeaseRenewal('failed');
            this.logger.warn(`could not renew the lease of gate run ${run.id}: ${error.message}`);
          },
        );
      },
      (this.config.gates.leaseSeconds * 1000) / 3,
    );
    let workspace: Workspace | undefined;
    let subject: GateSubjectRecord | undefined;
    try {
      subject = await this.versions.gateSubject(run.versionId);
      if (run.attempts > run.maxAttempts) {
        await this.finish(run, subject, claimedAt, {
          status: 'error',
          report: null,
          error: this.error('attempts_exhausted', `the run was started ${run.maxAttempts} times and never finished; its worker may be crashing on this model`, run),
        });
        return;
      }
      if (run.trigger !== 'rescan') {
        await this.transactions.run((tx) =>
          this.versions.recordGate(
            tx,
            run.versionId,
            { runId: run.id, stage: run.stage, status: 'running', healthScore: null, finishedAt: null },
            decidesStatus(run) ? 'validating' : undefined,
          ),
        );
      }
      this.logger.log(`gate run ${run.id}: ${run.stage} gate on ${subject.model}@${subject.version}, attempt ${run.attempts}`);
      const production = this.engine.comparesWithBaseline(run.policy) ? await this.baselineOf(run, subject) : undefined;
      // Re-gating the production version itself compares it with nothing, so its files are not copied twice.
      workspace = await this.workspaces.materialize(subject, production && production.id !== subject.id ? production : undefined);
      const request: SandboxRequest = {
        subject: {
          model: subject.model,
          version: subject.version,
          task: subject.task,
          declaredSchema: declaredSchemaOf(subject),
          reportedMetrics: subject.metrics,
          files: subject.files,
          signature: await this.versions.signatureStatus(subject.id, subject.files),
          ...(run.policy.checks.some((entry) => entry.id === CANARY_ANALYSIS_CHECK_ID) && {
            canaryAnalysis: await this.canaryAnalyses.standingOf({ model: subject.model, versionId: subject.id }),
          }),
        },
        workspace: workspace.filesDirectory,
        datasets: workspace.datasets,
        baseline: production && gateBaseline(production, workspace.baseline ?? { filesDirectory: workspace.filesDirectory }),
        policy: run.policy,
      };
      const report = this.stamped(await this.runSandboxed(run, request, workspace.directory, sandbox.signal), run);
      await this.finish(run, subject, claimedAt, { status: report.verdict, report });
    } catch (error) {
      if (sandbox.signal.aborted) {
        // Whoever holds the run now (another replica, or this one after a restart) runs it again.
        this.logger.warn(`gate run ${run.id} stopped: ${(sandbox.signal.reason as Error).message}; its sandbox was killed and nothing is recorded`);
        return;
      }
      await this.fail(run, subject, claimedAt, error as Error).catch((failure: Error) =>
        this.logger.error(`gate run ${run.id} could not be recorded as failed: ${failure.message}`),
      );
    } finally {
      clearInterval(heartbeat);
      this.sandboxes.delete(sandbox);
      await workspace?.remove();
    }
  }

  /** The sandbox's report, the check it is in recorded on the run as it goes; every write of it is done when this returns. */
  private async runSandboxed(run: GateRunEntity, request: SandboxRequest, scratchParent: string, signal: AbortSignal): Promise<GateReport> {
    const progress = new GateRunProgressWriter((recorded) =>
      this.runs.recordProgress(run.id, this.owner, recorded).catch((error: Error) => this.logger.warn(`could not record the progress of gate run ${run.id}: ${error.message}`)),
    );
    try {
      return await runInSandbox(request, { scratchParent, signal, onProgress: (event) => progress.hear(event) });
    } finally {
      await progress.stop();
    }
  }

  /** The version that was in production when the run was queued: what the regression checks compare with, on every attempt. */
  private async baselineOf(run: GateRunEntity, subject: GateSubjectRecord): Promise<GateSubjectRecord | undefined> {
    if (!run.baselineVersionId) return undefined;
    return run.baselineVersionId === subject.id ? subject : this.versions.gateSubject(run.baselineVersionId);
  }

  /** The report with the scanner version and policy digest its scan was judged under. */
  private stamped(report: GateReport, run: GateRunEntity): GateReport {
    const digest = scanPolicyDigest(run.policy);
    return digest ? stampScanResult(report, scannerVersionOf(this.config), digest) : report;
  }

  /**
   * A version whose files cannot be laid out is final (it fails, as a check
   * would); anything else is infrastructure, tried again with backoff until
   * attempts run out. Timeouts and crashes never get here: the sandbox
   * turns them into failed reports.
   */
  private async fail(run: GateRunEntity, subject: GateSubjectRecord | undefined, claimedAt: number, error: Error): Promise<void> {
    const unusable = subject && asUnusableArtifact(error);
    if (unusable) {
      this.logger.warn(`gate run ${run.id} cannot lay out ${subject.model}@${subject.version}: ${unusable.message}; it fails without retrying`);
      const report = unusableArtifactReport(unusable, run.policy, { model: subject.model, version: subject.version, task: subject.task }, run.startedAt ?? new Date());
      await this.finish(run, subject, claimedAt, { status: 'failed', report, error: this.error(unusable.code, unusable.message, run) });
      return;
    }
    const failure = this.error('infrastructure_error', error.message, run);
    if (run.attempts < run.maxAttempts) {
      const delaySeconds = 2 ** run.attempts;
      this.logger.warn(`gate run ${run.id} attempt ${run.attempts} failed (${error.message}); retrying in ${delaySeconds} s`);
      // The version shows the run as queued again, not as still running, while it waits.
      await this.transactions.run(async (tx) => {
        if ((await this.runs.requeue(tx, run.id, this.owner, delaySeconds, failure)) && run.trigger !== 'rescan') {
          await this.versions.recordGate(tx, run.versionId, { runId: run.id, stage: run.stage, status: 'queued', healthScore: null, finishedAt: null });
        }
      });
      return;
    }
    this.logger.error(`gate run ${run.id} failed on its last attempt: ${error.message}`);
    await this.finish(run, subject, claimedAt, { status: 'error', report: null, error: failure });
  }

  /**
   * Records the outcome, the version's new status and the audit event in one
   * transaction, and only if this worker still holds the run; counted once
   * that commits. `claimedAt` is when this attempt began (performance.now()).
   */
  private async finish(run: GateRunEntity, subject: GateSubjectRecord | undefined, claimedAt: number, outcome: Finish): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (!(await this.runs.finish(tx, run.id, this.owner, outcome))) return;
      this.transactions.afterCommit(tx, () => this.metrics.gateRunFinished(run.stage, outcome.status, (performance.now() - claimedAt) / 1000));
      const versionStatus: VersionStatus | undefined = !decidesStatus(run)
        ? undefined
        : outcome.status === 'passed'
          ? 'validated'
          : outcome.status === 'failed'
            ? 'rejected'
            : 'registered';
      if (run.trigger !== 'rescan') {
        await this.versions.recordGate(
          tx,
          run.versionId,
          { runId: run.id, stage: run.stage, status: outcome.status, healthScore: outcome.report?.healthScore ?? null, finishedAt: new Date().toISOString() },
          versionStatus,
        );
        await this.recordInferredSchema(tx, run, subject, outcome.report);
      }
      await this.recordSecurity(tx, run, subject, outcome);
      await this.audit.append(tx, {
        actor: WORKER_ACTOR,
        action: `gate.${outcome.status}`,
        subject: subject ? `version:${subject.model}@${subject.version}` : `gate-run:${run.id}`,
        payload: {
          gateRunId: run.id,
          stage: run.stage,
          trigger: run.trigger,
          attempts: run.attempts,
          healthScore: outcome.report?.healthScore ?? null,
          failedChecks: outcome.report?.failedChecks ?? [],
          ...(versionStatus ? { versionStatus } : {}),
          ...(outcome.error ? { error: outcome.error } : {}),
        },
      });
      await this.runFinished.publish(tx, {
        runId: run.id,
        versionId: run.versionId,
        stage: run.stage,
        status: outcome.status,
        report: outcome.report,
        error: outcome.error,
        actor: WORKER_ACTOR,
      });
    });
    this.logger.log(`gate run ${run.id}: ${outcome.status}${outcome.report ? ` (health ${outcome.report.healthScore})` : ''}`);
  }

  /**
   * A version that declared no schema gets the one schema_match read from its
   * model, here rather than at commit: the sandbox already parses the model,
   * so the API process never reads a large or hostile file on a request, and
   * stored in the transaction recording the outcome, it is written once by
   * the replica holding the run's lease, or not at all if that replica dies
   * before (the run is then claimed again and infers it again).
   */
  private async recordInferredSchema(tx: EntityManager, run: GateRunEntity, subject: GateSubjectRecord | undefined, report: GateReport | null): Promise<void> {
    const schema = report && inferredSchemaOf(report);
    if (schema && subject) await this.versions.recordInferredSchema(tx, subject, schema, { actor: WORKER_ACTOR, gateRunId: run.id });
  }

  /**
   * Folds the run's scan into the version's security verdict, under the
   * version's row lock, and audits what changed: every re-scan's outcome
   * (`version.rescanned`) and every flag (`version.flagged`). A flag moves
   * no stage pointer.
   */
  private async recordSecurity(tx: EntityManager, run: GateRunEntity, subject: GateSubjectRecord | undefined, outcome: Finish): Promise<void> {
    const scan = scanOutcome(run.policy, outcome.status, outcome.report);
    const policyDigest = scanPolicyDigest(run.policy);
    if (run.trigger !== 'rescan' && !scan) return;
    const scannerVersion = scannerVersionOf(this.config);
    const previous = await this.security.lockVerdict(tx, run.versionId);
    const standing = previous ? await this.runs.find(previous.gateRunId, tx) : null;
    const decision =
      scan && policyDigest
        ? decideSecurity(previous, {
            ...scan,
            scannerVersion,
            policyDigest,
            gateRunId: run.id,
            at: new Date().toISOString(),
            runSeq: run.seq,
            standingRunSeq: standing?.seq ?? null,
          })
        : { flagged: false, cleared: false };
    if (decision.verdict) await this.security.record(tx, run.versionId, decision.verdict);
    const auditSubject = subject ? `version:${subject.model}@${subject.version}` : `gate-run:${run.id}`;
    const scanned = { gateRunId: run.id, trigger: run.trigger, scannerVersion, policyDigest };
    if (run.trigger === 'rescan') {
      await this.audit.append(tx, {
        actor: WORKER_ACTOR,
        action: 'version.rescanned',
        subject: auditSubject,
        payload: {
          ...scanned,
          outcome: outcome.status,
          verdict: decision.verdict?.status ?? null,
          // A scan older than the standing verdict (by scanner or by queue position) leaves it as it is.
          applied: decision.verdict !== undefined,
          cleared: decision.cleared,
          previous,
          ...(outcome.error ? { error: outcome.error } : {}),
        },
      });
    }
    if (decision.flagged) {
      await this.audit.append(tx, {
        actor: WORKER_ACTOR,
        action: 'version.flagged',
        subject: auditSubject,
        payload: { ...scanned, stage: subject?.stage ?? null, message: decision.verdict?.message ?? null, wasFlagged: previous?.status === 'flagged' },
      });
    }
  }

  private error(code: string, message: string, run: GateRunEntity): GateRunError {
    return { code, message, attempt: run.attempts, at: new Date().toISOString() };
  }
}

/** A schema inferred by an earlier run is not a declaration: schema_match infers it again from the same bytes, saying so. */
function declaredSchemaOf(version: GateSubjectRecord): IoSchema | null {
  return version.schemaSource === 'declared' ? version.schema : null;
}

/** The registration gate decides a version's status; a re-scan of it never does. */
function decidesStatus(run: GateRunEntity): boolean {
  return run.stage === 'registered' && run.trigger !== 'rescan';
}

function gateBaseline(production: GateSubjectRecord, copied: { filesDirectory: string; problem?: string }): GateBaseline {
  return {
    subject: {
      model: production.model,
      version: production.version,
      task: production.task,
      declaredSchema: declaredSchemaOf(production),
      reportedMetrics: production.metrics,
      files: production.files,
    },
    workspace: copied.filesDirectory,
    problem: copied.problem,
  };
}
