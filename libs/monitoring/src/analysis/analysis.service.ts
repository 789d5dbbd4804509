import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { advanceAnalysis, judgeInterval, resumeAnalysis, startAnalysis, type AnalysisAction, type IntervalJudgement } from '@gatehouse/canary-judge';
import { AuditLog } from '@gatehouse/audit';
import type { Principal } from '@gatehouse/auth';
import { ModelService, StageService } from '@gatehouse/catalog';
import { CanaryAnalysisRecords } from '@gatehouse/gates';
import type { CanaryAnalysisStanding } from '@gatehouse/gate-engine';
import { decodeCursor, keysetPage } from '@gatehouse/openapi';
import { TransactionRunner } from '@gatehouse/database';
import { MetricsService } from '@gatehouse/metrics';
import { ServingService, StageMoved, StagePointerService, type MovedStage } from '@gatehouse/promotion';
import type { AnalysisRunList, AnalysisRunListQuery, AnalysisRunResponse } from '../dto/analysis.dto';
import { MONITORING_POLICY, type MonitoringPolicy } from '../monitoring-policy';
import { MetricSources } from '../providers/metric-sources';
import type { TelemetryConfig } from '@gatehouse/config';
import { intervalEnd, TELEMETRY_SETTINGS } from '../telemetry/telemetry-settings';
import { AnalysisRunRepository, type AnalysisIntervalRow, type AnalysisRunRow, type AnalysisRunStatus } from './analysis-run.repository';
import { AnalysisCannotStartError, AnalysisNotActiveError, AnalysisRunNotFoundError } from './errors';
import { MetricSourceUnavailableError } from '../providers/metric-source';
import { stepsFrom } from './traffic-steps';

/** Who acts when the analysis decides: audit events and stage moves name it. */
export const ANALYSIS_ACTOR = 'gatehouse';
const DEFAULT_PAGE_SIZE = 20;

/**
 * Canary analysis: a run starts when a canary is promoted, and every
 * interval the canary is judged against production over the same window;
 * the schedule then moves its traffic, rolls it back, pauses for a person,
 * or marks it passed. Every decision is taken behind the model's lock and
 * keyed by the interval's number, so one interval is acted on once, by one
 * replica, and a stage move never races a decision.
 */
@Injectable()
export class AnalysisService implements OnModuleInit {
  private readonly logger = new Logger('AnalysisService');

  constructor(
    private readonly runs: AnalysisRunRepository,
    private readonly sources: MetricSources,
    private readonly pointers: StagePointerService,
    private readonly serving: ServingService,
    private readonly stages: StageService,
    private readonly models: ModelService,
    private readonly moved: StageMoved,
    private readonly canaryAnalyses: CanaryAnalysisRecords,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    private readonly metrics: MetricsService,
    @Inject(MONITORING_POLICY) private readonly policy: MonitoringPolicy,
    @Inject(TELEMETRY_SETTINGS) private readonly telemetrySettings: TelemetryConfig,
  ) {}

  onModuleInit(): void {
    this.moved.subscribe((tx, event) => this.followStage(tx, event));
    this.canaryAnalyses.provide((version) => this.standingOf(version));
  }

  /** What the production gate's canary_analysis check judges: whether the model's canaries are analysed, and the version's newest run. */
  private async standingOf(version: { model: string; versionId: string }): Promise<CanaryAnalysisStanding> {
    const latest = await this.runs.latestOf(this.transactions.manager, version.versionId);
    const pointers = await this.stages.pointers(await this.models.idOf(version.model));
    return {
      enabled: this.policy.analysisFor(version.model).enabled,
      canary: pointers.canary?.versionId === version.versionId,
      latest: latest
        ? {
            id: latest.id,
            status: latest.status,
            baselineVersion: latest.baselineVersion,
            intervals: latest.state.intervals,
            finishedAt: latest.finishedAt ? new Date(latest.finishedAt).toISOString() : null,
          }
        : null,
    };
  }

  /**
   * Judges every run whose next interval is over, a grace of one telemetry
   * window later (reports of its last requests are still arriving); returns
   * how many intervals were judged.
   */
  async judgeDue(now = new Date()): Promise<number> {
    const judgeableBefore = new Date(now.getTime() - this.telemetrySettings.windowSeconds * 1000);
    let judged = 0;
    for (const candidate of await this.runs.due(this.transactions.manager, judgeableBefore, 20)) {
      if (await this.judgeNext(candidate, judgeableBefore)) judged++;
    }
    return judged;
  }

  async list(modelName: string, query: AnalysisRunListQuery): Promise<AnalysisRunList> {
    const modelId = await this.models.idOf(modelName);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.runs.list(this.transactions.manager, modelId, limit + 1, {
      beforeSeq: query.cursor ? decodeCursor<number>(query.cursor, 'number') : undefined,
      version: query.version,
    });
    return keysetPage(
      rows,
      limit,
      (row) => row.seq,
      (row) => runResponse(row),
    );
  }

  async get(id: string): Promise<AnalysisRunResponse> {
    const run = await this.runs.find(this.transactions.manager, id);
    if (!run) throw new AnalysisRunNotFoundError(id);
    return runResponse(run, await this.runs.intervals(this.transactions.manager, id));
  }

  /**
   * Analyses the model's canary again, from the policy's first step at or
   * above its traffic, against the version in production now: for a canary
   * whose analysis was cancelled when production moved, or that passed
   * against a production version since replaced.
   */
  async startAgain(actor: Principal, modelName: string): Promise<AnalysisRunResponse> {
    const modelId = await this.models.idOf(modelName);
    if (!this.policy.analysisFor(modelName).enabled) throw new AnalysisCannotStartError(modelName, 'the monitoring policy does not analyse its canaries');
    const runId = await this.transactions.run(async (tx) => {
      const pointers = await this.pointers.lock(tx, modelId);
      if (!pointers.canary) throw new AnalysisCannotStartError(modelName, 'it has no canary: promote a version to canary, which starts one');
      if (!pointers.production) throw new AnalysisCannotStartError(modelName, 'nothing serves in production to compare its canary with');
      const active = await this.runs.lockActive(tx, modelId);
      if (active)
        throw new AnalysisCannotStartError(modelName, `analysis ${active.id} of ${modelName}@${active.version} is ${active.status}: resume or abort it`, { runId: active.id });
      const started = await this.start(tx, {
        modelId,
        versionId: pointers.canary.versionId,
        stage: 'canary',
        action: 'promoted',
        trafficPercent: pointers.canary.trafficPercent,
        actor: actor.name,
      });
      if (!started) throw new Error(`the analysis of ${modelName}'s canary did not start though its canary and production are there`);
      return started;
    });
    return this.get(runId);
  }

  /** A paused run goes on where it was, its inconclusive count cleared: a person has looked. */
  async resume(actor: Principal, id: string): Promise<AnalysisRunResponse> {
    await this.underModelLock(id, async (tx, run) => {
      if (run.status !== 'paused') throw new AnalysisNotActiveError(run, 'resume', 'only a paused analysis can be resumed');
      await this.runs.update(tx, run.id, {
        status: 'running',
        state: resumeAnalysis(run.state),
        nextIntervalAt: intervalEnd(new Date(), run.policy.intervalSeconds, this.telemetrySettings),
      });
      await this.audit.append(tx, {
        actor: actor.name,
        action: 'analysis.resumed',
        subject: subjectOf(run),
        payload: { runId: run.id, step: run.state.step, trafficPercent: run.state.trafficPercent },
      });
    });
    return this.get(id);
  }

  /** Stops a running or paused run and takes its canary out of service. */
  async abort(actor: Principal, id: string, reason: string): Promise<AnalysisRunResponse> {
    await this.underModelLock(id, async (tx, run, canary) => {
      if (run.status !== 'running' && run.status !== 'paused') throw new AnalysisNotActiveError(run, 'abort', 'it has finished');
      await this.end(tx, run, 'aborted', { reason, by: actor.name });
      await this.audit.append(tx, { actor: actor.name, action: 'analysis.aborted', subject: subjectOf(run), payload: { runId: run.id, reason } });
      if (canary) await this.serving.retireCanary(tx, { modelId: run.modelId, modelName: run.model, canary, actor: actor.name, reason: `analysis ${run.id} aborted: ${reason}` });
    });
    return this.get(id);
  }

  private async underModelLock(
    id: string,
    work: (tx: EntityManager, run: AnalysisRunRow, canary: Awaited<ReturnType<StagePointerService['lock']>>['canary']) => Promise<void>,
  ): Promise<void> {
    const found = await this.runs.find(this.transactions.manager, id);
    if (!found) throw new AnalysisRunNotFoundError(id);
    await this.transactions.run(async (tx) => {
      const pointers = await this.pointers.lock(tx, found.modelId);
      const active = await this.runs.lockActive(tx, found.modelId);
      const run = active?.id === id ? active : found;
      const canary = pointers.canary?.versionId === run.versionId ? pointers.canary : undefined;
      await work(tx, run, canary);
    });
  }

  /**
   * Judges the run's next interval unless another replica has, or a stage
   * move ended the run, since it was found due. The telemetry is read before
   * the transaction (an ended interval's windows no longer change, and the
   * embedded database has one connection, which the transaction holds); the
   * decision is taken under the model's lock, on the run as it still is.
   */
  private async judgeNext(candidate: { id: string; modelId: string }, judgeableBefore: Date): Promise<boolean> {
    const seen = await this.runs.find(this.transactions.manager, candidate.id);
    if (!seen || seen.status !== 'running' || new Date(seen.nextIntervalAt) > judgeableBefore) return false;
    const windowEnd = new Date(seen.nextIntervalAt);
    const windowStart = new Date(windowEnd.getTime() - seen.policy.intervalSeconds * 1000);
    const { judgement, problem } = await this.judge(seen, windowStart, windowEnd);
    return this.transactions.run(async (tx) => {
      const pointers = await this.pointers.lock(tx, candidate.modelId);
      const run = await this.runs.lockActive(tx, candidate.modelId);
      if (!run || run.id !== seen.id || run.status !== 'running' || new Date(run.nextIntervalAt).getTime() !== windowEnd.getTime()) return false;
      const { state, action } = advanceAnalysis(run.policy, run.state, judgement);
      const recorded = await this.runs.recordInterval(tx, run.id, {
        number: state.intervals,
        step: run.state.step,
        trafficPercent: run.state.trafficPercent,
        windowStart,
        windowEnd,
        verdict: judgement.verdict,
        metrics: judgement.metrics,
        problem,
        action: action.type,
      });
      if (!recorded) return false;
      // The run leaves `running` before its canary moves, so following that move finds no active run to cancel.
      const status = statusAfter(action);
      if (status === 'passed' || status === 'rolled_back') this.transactions.afterCommit(tx, () => this.metrics.analysisRunFinished(status));
      await this.runs.update(tx, run.id, {
        status,
        state,
        nextIntervalAt: new Date(windowEnd.getTime() + run.policy.intervalSeconds * 1000),
        ...(action.type === 'rollback' ? { outcome: { reason: rollbackReason(run, action.failures) } } : {}),
      });
      await this.act(tx, run, action, judgement, pointers.canary?.versionId === run.versionId ? pointers.canary : undefined);
      return true;
    });
  }

  /** The interval's judgement; a metric source that cannot answer makes it inconclusive, as too little data would, rather than stalling the run. */
  private async judge(run: AnalysisRunRow, from: Date, to: Date): Promise<{ judgement: IntervalJudgement; problem: string | null }> {
    const source = this.sources.forModel(run.model);
    try {
      const [canary, baseline] = await Promise.all([
        source.aggregate({ model: run.model, version: run.version, versionId: run.versionId, from, to }),
        source.aggregate({ model: run.model, version: run.baselineVersion, versionId: run.baselineVersionId, from, to }),
      ]);
      return { judgement: judgeInterval(canary.aggregate, baseline.aggregate, canary.profile, run.policy.criteria), problem: null };
    } catch (error) {
      if (!(error instanceof MetricSourceUnavailableError)) throw error;
      this.logger.warn(`analysis ${run.id} of ${run.model}@${run.version}: interval ending ${to.toISOString()} is inconclusive: ${error.message}`);
      return { judgement: { verdict: 'inconclusive', metrics: [] }, problem: error.message };
    }
  }

  private async act(
    tx: EntityManager,
    run: AnalysisRunRow,
    action: AnalysisAction,
    judgement: IntervalJudgement,
    canary: Parameters<ServingService['retireCanary']>[1]['canary'] | undefined,
  ): Promise<void> {
    const subject = subjectOf(run);
    const evidence = {
      runId: run.id,
      interval: run.state.intervals + 1,
      step: run.state.step,
      trafficPercent: run.state.trafficPercent,
      verdict: judgement.verdict,
      metrics: judgement.metrics,
    };
    switch (action.type) {
      case 'none':
        return;
      case 'next_step':
        if (canary) await this.pointers.setCanaryTraffic(tx, run.modelId, run.versionId, action.trafficPercent);
        await this.audit.append(tx, { actor: ANALYSIS_ACTOR, action: 'analysis.step_passed', subject, payload: { ...evidence, nextTrafficPercent: action.trafficPercent } });
        return;
      case 'passed':
        await this.audit.append(tx, { actor: ANALYSIS_ACTOR, action: 'analysis.passed', subject, payload: evidence });
        return;
      case 'pause':
        await this.audit.append(tx, {
          actor: ANALYSIS_ACTOR,
          action: 'analysis.paused',
          subject,
          payload: { ...evidence, inconclusives: action.inconclusives, message: 'too many inconclusive intervals: resume or abort it (POST /v1/analysis-runs/{id}/resume|abort)' },
        });
        return;
      case 'rollback':
        await this.audit.append(tx, { actor: ANALYSIS_ACTOR, action: 'analysis.failed', subject, payload: { ...evidence, failures: action.failures } });
        if (canary)
          await this.serving.retireCanary(tx, {
            modelId: run.modelId,
            modelName: run.model,
            canary,
            actor: ANALYSIS_ACTOR,
            reason: rollbackReason(run, action.failures),
            evidence,
          });
        return;
    }
  }

  /**
   * Follows the stage pointers, in the transaction that moves them: a new
   * canary starts a run (replacing the model's active one); a run whose
   * canary or baseline left its stage by any other way ends.
   */
  private async followStage(tx: EntityManager, event: MovedStage): Promise<void> {
    const active = await this.runs.lockActive(tx, event.modelId);
    // Only a promotion starts one: a version restored to canary is a gradual rollback handing traffic back, not a candidate.
    const startsCanary = event.stage === 'canary' && event.action === 'promoted';
    if (active && (startsCanary || event.versionId === active.versionId || (event.versionId === active.baselineVersionId && event.stage === 'production'))) {
      const [status, reason]: ['aborted' | 'cancelled', string] =
        event.action === 'canary_aborted' && event.versionId === active.versionId
          ? ['aborted', `the canary was aborted by ${event.actor}`]
          : [
              'cancelled',
              `${event.versionId === active.versionId ? 'its canary' : event.versionId === active.baselineVersionId ? 'its production baseline' : 'another version'} was ${event.action} at ${event.stage} by ${event.actor}`,
            ];
      await this.end(tx, active, status, { reason });
      await this.audit.append(tx, { actor: event.actor, action: `analysis.${status}`, subject: subjectOf(active), payload: { runId: active.id, reason } });
    }
    if (startsCanary) await this.start(tx, event);
  }

  /** Starts a run for the model's canary, returning its id; none (undefined) without a canary and a production version, or with analysis off. */
  private async start(tx: EntityManager, event: MovedStage): Promise<string | undefined> {
    const pointers = await this.stages.pointers(event.modelId, tx);
    const canary = pointers.canary;
    const production = pointers.production;
    // Without production there is nothing to compare with: the first version to serve is judged by its gates alone.
    if (!canary || !production) return undefined;
    const model = await this.runs.modelName(tx, event.modelId);
    const configured = this.policy.analysisFor(model);
    if (!configured.enabled) return undefined;
    const policy = { ...configured, steps: stepsFrom(configured.steps, event.trafficPercent) };
    const state = startAnalysis(policy);
    const nextIntervalAt = intervalEnd(new Date(), policy.intervalSeconds, this.telemetrySettings);
    const runId = await this.runs.insert(tx, {
      modelId: event.modelId,
      versionId: canary.versionId,
      baselineVersionId: production.versionId,
      policy,
      state,
      nextIntervalAt,
      startedBy: event.actor,
    });
    if (canary.trafficPercent !== state.trafficPercent) await this.pointers.setCanaryTraffic(tx, event.modelId, canary.versionId, state.trafficPercent);
    await this.audit.append(tx, {
      actor: event.actor,
      action: 'analysis.started',
      subject: `version:${model}@${canary.version}`,
      payload: {
        runId,
        baseline: production.version,
        steps: policy.steps,
        trafficPercent: state.trafficPercent,
        requestedTrafficPercent: event.trafficPercent,
        intervalSeconds: policy.intervalSeconds,
      },
    });
    return runId;
  }

  /** Ends a run that was running or paused, counted once its transaction commits. */
  private async end(tx: EntityManager, run: AnalysisRunRow, status: 'aborted' | 'cancelled', outcome: Record<string, unknown>): Promise<void> {
    this.transactions.afterCommit(tx, () => this.metrics.analysisRunFinished(status));
    await this.runs.update(tx, run.id, { status, state: run.state, outcome });
  }
}

function statusAfter(action: AnalysisAction): AnalysisRunStatus {
  if (action.type === 'rollback') return 'rolled_back';
  if (action.type === 'pause') return 'paused';
  if (action.type === 'passed') return 'passed';
  return 'running';
}

function rollbackReason(run: AnalysisRunRow, failures: number): string {
  return `canary analysis ${run.id} failed ${failures} intervals (failureLimit ${run.policy.failureLimit})`;
}

function subjectOf(run: AnalysisRunRow): string {
  return `version:${run.model}@${run.version}`;
}

function runResponse(run: AnalysisRunRow, intervals?: AnalysisIntervalRow[]): AnalysisRunResponse {
  return {
    id: run.id,
    model: run.model,
    version: run.version,
    baselineVersion: run.baselineVersion,
    status: run.status,
    step: run.state.step,
    steps: run.policy.steps,
    trafficPercent: run.state.trafficPercent,
    passedInStep: run.state.passedInStep,
    intervals: run.state.intervals,
    failures: run.state.failures,
    inconclusives: run.state.inconclusives,
    policy: run.policy,
    nextIntervalAt: run.status === 'running' ? new Date(run.nextIntervalAt).toISOString() : null,
    startedBy: run.startedBy,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt ? new Date(run.finishedAt).toISOString() : null,
    outcome: run.outcome,
    ...(intervals
      ? {
          judged: intervals.map((interval) => ({
            number: interval.number,
            step: interval.step,
            trafficPercent: interval.trafficPercent,
            windowStart: new Date(interval.windowStart).toISOString(),
            windowEnd: new Date(interval.windowEnd).toISOString(),
            verdict: interval.verdict,
            problem: interval.problem,
            action: interval.action,
            metrics: interval.metrics,
          })),
        }
      : {}),
  };
}
