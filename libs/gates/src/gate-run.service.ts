import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { ModelService, StageService, VersionCommitted, VersionService, type VersionRef } from '@gatehouse/catalog';
import { decodeCursor, keysetPage, type RecentPageQuery } from '@gatehouse/openapi';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { TransactionRunner } from '@gatehouse/database';
import { MetricsService } from '@gatehouse/metrics';
import type { GateRunDetailResponse, GateRunList, GateRunResponse } from './dto/gate-run.dto';
import { renderMarkdown, type GatePolicy, type GateStage, type Task, type StagePolicy } from '@gatehouse/gate-engine';
import { GateReportNotReadyError, GateRunNotFoundError, StageWithoutPolicyError, VersionNotGateableError, VersionServingError } from './errors';
import type { GateRunEntity, GateRunTrigger } from './gate-run.entity';
import { GateRunRepository } from './gate-run.repository';
import { GateWorker } from './gate-worker';
import { withScanAllowances } from './scan-allowances';

export const GATE_POLICY = Symbol('GATE_POLICY');

const DEFAULT_PAGE_SIZE = 20;

export interface GateRequest {
  versionId: string;
  /** The version in production as the caller sees it under its lock: what the regression checks will compare with. */
  baselineVersionId?: string | null;
  ref: VersionRef;
  task: Task;
  stage: GateStage;
  trigger: GateRunTrigger;
  actor: string;
}

/** Queues gate runs (at commit, on request, for promotions) and answers for them. */
@Injectable()
export class GateRunService implements OnModuleInit {
  constructor(
    private readonly runs: GateRunRepository,
    private readonly versions: VersionService,
    private readonly models: ModelService,
    private readonly stages: StageService,
    private readonly versionCommitted: VersionCommitted,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    private readonly worker: GateWorker,
    private readonly metrics: MetricsService,
    @Inject(GATE_POLICY) private readonly policy: GatePolicy,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.metrics.readGateQueueDepthWith(() => this.runs.countQueued());
    this.versionCommitted.subscribe(async (tx, version) => {
      await this.enqueueRun(tx, { versionId: version.id, ref: version, task: version.task, stage: 'registered', trigger: 'commit', actor: version.committedBy });
    });
  }

  /**
   * Queues a run in the caller's transaction, with the stage's policy as it
   * is now (with browser_compat for a version tagged runtime=browser) and
   * what the model's scan allows beyond it. The allowances are
   * read, not locked: a run queued while they change carries the old ones,
   * its verdict the old policy digest, and the next re-scan catches it up.
   */
  async enqueue(tx: EntityManager, request: GateRequest): Promise<{ id: string }> {
    return { id: (await this.enqueueRun(tx, request)).id };
  }

  private async enqueueRun(tx: EntityManager, request: GateRequest): Promise<GateRunEntity> {
    if (!this.policy.stageNames.includes(request.stage)) throw new StageWithoutPolicyError(request.stage, this.policy.stageNames);
    const resolved = this.policy.resolve(request.stage, request.task, { tags: await this.versions.tagsOf(tx, request.versionId) });
    const policy = withScanAllowances(resolved, await this.models.scanAllowanceRulesOf(tx, request.ref.model));
    const run = await this.queue(tx, request, policy);
    await this.versions.recordGate(tx, request.versionId, { runId: run.id, stage: run.stage, status: 'queued', healthScore: null, finishedAt: null });
    return run;
  }

  /** Queues a re-scan: a run of `policy` (the scan alone) that leaves the version's latest gate as it is. */
  enqueueRescan(tx: EntityManager, request: Omit<GateRequest, 'trigger' | 'stage' | 'baselineVersionId'>, policy: StagePolicy): Promise<GateRunEntity> {
    return this.queue(tx, { ...request, stage: policy.stage, trigger: 'rescan' }, policy);
  }

  private async queue(tx: EntityManager, request: GateRequest, policy: StagePolicy): Promise<GateRunEntity> {
    const run = await this.runs.insert(tx, {
      versionId: request.versionId,
      baselineVersionId: request.baselineVersionId ?? null,
      stage: request.stage,
      trigger: request.trigger,
      requestedBy: request.actor,
      policy,
      maxAttempts: this.config.gates.maxAttempts,
    });
    await this.audit.append(tx, {
      actor: request.actor,
      action: 'gate.queued',
      subject: `version:${request.ref.model}@${request.ref.version}`,
      payload: { gateRunId: run.id, stage: run.stage, trigger: run.trigger, checks: run.policy.checks.map((check) => check.id) },
    });
    return run;
  }

  /** Tells this replica's workers to look for queued runs now; call after the transaction that queued one commits. */
  wake(): void {
    this.worker.wake();
  }

  /** `POST .../gate-runs`: run a stage's gate on a committed version now. */
  async request(actor: Principal, modelName: string, versionName: string, stage: GateStage): Promise<GateRunDetailResponse> {
    const ref = { model: modelName, version: versionName };
    const version = await this.versions.lookup(modelName, versionName);
    if (version.status === 'pending_upload') throw new VersionNotGateableError(`${modelName}@${versionName}`, version.status);
    const subject = await this.versions.gateSubject(version.id);
    if (stage === 'registered' && subject.stage !== 'none') throw new VersionServingError(`${modelName}@${versionName}`, subject.stage);
    const production = await this.stages.holderOf(modelName, 'production');
    const run = await this.transactions.run((tx) =>
      this.enqueueRun(tx, { versionId: version.id, baselineVersionId: production?.versionId ?? null, ref, task: subject.task, stage, trigger: 'request', actor: actor.name }),
    );
    this.wake();
    return this.detail(run, ref);
  }

  async get(id: string): Promise<GateRunDetailResponse> {
    const run = await this.require(id);
    const subject = await this.versions.gateSubject(run.versionId);
    return this.detail(run, subject);
  }

  /** A page of a version's runs, newest first. */
  async list(modelName: string, versionName: string, query: RecentPageQuery): Promise<GateRunList> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const beforeSeq = query.cursor === undefined ? undefined : decodeCursor<number>(query.cursor, 'number');
    const version = await this.versions.lookup(modelName, versionName);
    const rows = await this.runs.listForVersion(version.id, limit + 1, beforeSeq);
    return keysetPage(
      rows,
      limit,
      (run) => run.seq,
      (run) => this.summary(run, { model: modelName, version: versionName }),
    );
  }

  async markdown(id: string): Promise<string> {
    const run = await this.require(id);
    if (!run.report) throw new GateReportNotReadyError(id, run.status);
    return renderMarkdown(run.report);
  }

  private async require(id: string): Promise<GateRunEntity> {
    const run = /^[0-9a-f-]{36}$/i.test(id) ? await this.runs.find(id) : null;
    if (!run) throw new GateRunNotFoundError(id);
    return run;
  }

  private summary(run: GateRunEntity, ref: VersionRef): GateRunResponse {
    return {
      id: run.id,
      model: ref.model,
      version: ref.version,
      stage: run.stage,
      trigger: run.trigger,
      status: run.status,
      requestedBy: run.requestedBy,
      attempts: run.attempts,
      maxAttempts: run.maxAttempts,
      healthScore: run.healthScore,
      failedChecks: run.report?.failedChecks ?? [],
      blockedChecks: run.report?.blockedChecks ?? [],
      lastError: run.lastError,
      progress: run.status === 'running' ? run.progress : null,
      createdAt: run.createdAt.toISOString(),
      startedAt: run.startedAt?.toISOString() ?? null,
      finishedAt: run.finishedAt?.toISOString() ?? null,
      links: { self: `/v1/gate-runs/${run.id}`, markdown: `/v1/gate-runs/${run.id}/report.md` },
    };
  }

  private detail(run: GateRunEntity, ref: VersionRef): GateRunDetailResponse {
    return { ...this.summary(run, ref), report: run.report, policy: run.policy };
  }
}
