import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { evaluateAlertRules, type AlertEvaluation, type AlertRule } from '@gatehouse/canary-judge';
import { AuditLog } from '@gatehouse/audit';
import type { StageAssignmentRow } from '@gatehouse/catalog';
import { TransactionRunner } from '@gatehouse/database';
import { ServingService, StageMoved, StagePointerService, type MovedStage } from '@gatehouse/promotion';
import { ANALYSIS_ACTOR } from '../analysis/analysis.service';
import { MONITORING_POLICY, type MonitoringPolicy } from '../monitoring-policy';
import { MetricSourceUnavailableError } from '../providers/metric-source';
import { MetricSources } from '../providers/metric-sources';
import type { TelemetryConfig } from '@gatehouse/config';
import { intervalEnd, TELEMETRY_SETTINGS } from '../telemetry/telemetry-settings';
import { ALERT_POLICY, type AlertPolicy } from './alert-policy';
import { AlertRepository, type MonitorRow, type ShiftRow } from './alert.repository';

/** A gradual rollback hands this share back at once, then the rest evenly over its duration. */
const FIRST_SHIFT_PERCENT = 10;

interface RollbackTrigger {
  alertId: string;
  rule: AlertRule;
  evaluation: AlertEvaluation;
}

/**
 * Watches what serves production: every interval its alert rules are
 * evaluated on the last window; an alert is raised once, updated while it
 * lasts and resolved when it clears. A firing rule with `rollback` takes the
 * version out: at once when critical, and when a warning through a gradual
 * shift, the previous version taking traffic back through the canary pointer
 * until it is production again. Each evaluation and each shift step is taken
 * once, behind the model's lock.
 */
@Injectable()
export class ProductionMonitor implements OnModuleInit {
  private readonly logger = new Logger('ProductionMonitor');

  constructor(
    private readonly alerts: AlertRepository,
    private readonly sources: MetricSources,
    private readonly pointers: StagePointerService,
    private readonly serving: ServingService,
    private readonly moved: StageMoved,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditLog,
    @Inject(ALERT_POLICY) private readonly policy: AlertPolicy,
    @Inject(MONITORING_POLICY) private readonly monitoring: MonitoringPolicy,
    @Inject(TELEMETRY_SETTINGS) private readonly telemetrySettings: TelemetryConfig,
  ) {}

  onModuleInit(): void {
    this.moved.subscribe((tx, event) => this.followStage(tx, event));
  }

  /** Evaluates every monitor whose interval is over, a telemetry window late; returns how many were evaluated. */
  async evaluateDue(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.telemetrySettings.windowSeconds * 1000);
    let evaluated = 0;
    for (const monitor of await this.alerts.due(this.transactions.manager, before, 20)) if (await this.evaluate(monitor)) evaluated++;
    return evaluated;
  }

  /** Moves every gradual rollback along: more traffic back to the previous version, or, when its time is up, production itself. */
  async shiftDue(now = new Date()): Promise<void> {
    for (const shift of await this.alerts.shifts(this.transactions.manager)) await this.shift(shift, now);
  }

  private async evaluate(monitor: MonitorRow): Promise<boolean> {
    const policy = this.policy.for(monitor.model);
    const to = new Date(monitor.nextEvaluationAt);
    const from = new Date(to.getTime() - policy.intervalSeconds * 1000);
    let evaluations: AlertEvaluation[] | undefined;
    try {
      const { aggregate, profile } = await this.sources
        .forModel(monitor.model)
        .aggregate({ model: monitor.model, version: monitor.version, versionId: monitor.versionId, from, to });
      evaluations = evaluateAlertRules(policy.rules, aggregate, null, profile, this.monitoring.analysisFor(monitor.model).criteria);
    } catch (error) {
      if (!(error instanceof MetricSourceUnavailableError)) throw error;
      this.logger.warn(`alert rules of ${monitor.model}@${monitor.version} not evaluated for the window ending ${to.toISOString()}: ${error.message}`);
    }
    return this.transactions.run(async (tx) => {
      const pointers = await this.pointers.lock(tx, monitor.modelId);
      const current = await this.alerts.lockMonitor(tx, monitor.modelId);
      if (!current || current.versionId !== monitor.versionId || new Date(current.nextEvaluationAt).getTime() !== to.getTime()) return false;
      await this.alerts.scheduleNext(tx, monitor.modelId, new Date(to.getTime() + policy.intervalSeconds * 1000));
      if (!evaluations) return false;
      const triggers = await this.record(tx, monitor, policy.rules, evaluations);
      // One rollback per evaluation, the most severe: a critical rule's at once rather than a warning's gradual one.
      const trigger = triggers.find((candidate) => candidate.rule.severity === 'critical') ?? triggers[0];
      if (trigger && pointers.production?.versionId === monitor.versionId)
        await this.rollBack(tx, monitor, pointers.production, pointers.canary, trigger, policy.gradualRollbackSeconds);
      return true;
    });
  }

  /** Raises, updates and resolves the version's alerts; returns the newly raised ones whose rules roll back. */
  private async record(tx: EntityManager, monitor: MonitorRow, rules: AlertRule[], evaluations: AlertEvaluation[]): Promise<RollbackTrigger[]> {
    const firing = await this.alerts.firing(tx, monitor.versionId);
    const subject = `version:${monitor.model}@${monitor.version}`;
    const triggers: RollbackTrigger[] = [];
    for (const evaluation of evaluations) {
      const rule = rules.find((candidate) => candidate.name === evaluation.rule)!;
      const existing = firing.get(evaluation.rule);
      const numbers = { rule: rule.name, metric: rule.metric, severity: rule.severity, value: evaluation.value, threshold: evaluation.threshold, samples: evaluation.samples };
      if (evaluation.state === 'firing' && existing) await this.alerts.update(tx, existing.id, evaluation);
      else if (evaluation.state === 'firing') {
        const alertId = await this.alerts.raise(tx, monitor.modelId, monitor.versionId, rule.metric, evaluation);
        await this.audit.append(tx, { actor: ANALYSIS_ACTOR, action: 'alert.raised', subject, payload: { alertId, ...numbers } });
        if (rule.rollback) triggers.push({ alertId, rule, evaluation });
      } else if (evaluation.state === 'ok' && existing) {
        await this.alerts.resolve(tx, existing.id, evaluation);
        await this.audit.append(tx, { actor: ANALYSIS_ACTOR, action: 'alert.resolved', subject, payload: { alertId: existing.id, ...numbers } });
      }
    }
    return triggers;
  }

  private async rollBack(
    tx: EntityManager,
    monitor: MonitorRow,
    production: StageAssignmentRow,
    canary: StageAssignmentRow | undefined,
    trigger: RollbackTrigger,
    gradualSeconds: number,
  ): Promise<void> {
    const { rule, evaluation } = trigger;
    const reason = `alert ${rule.name} (${rule.severity}) fired: ${rule.metric} ${evaluation.value} ${rule.comparison} ${evaluation.threshold}`;
    const evidence = { alertId: trigger.alertId, rule: rule.name, metric: rule.metric, value: evaluation.value, threshold: evaluation.threshold, samples: evaluation.samples };
    const target = await this.serving.previousProduction(tx, monitor.modelId, production);
    if (!target) {
      await this.alerts.recordRollback(tx, trigger.alertId, { kind: 'none', reason: 'no earlier production version to return to' });
      return;
    }
    if (rule.severity === 'critical') {
      await this.serving.restoreProduction(tx, { modelId: monitor.modelId, modelName: monitor.model, current: production, target, actor: ANALYSIS_ACTOR, reason, evidence });
      await this.alerts.recordRollback(tx, trigger.alertId, { kind: 'immediate', restored: target.version });
      return;
    }
    if (await this.alerts.lockShift(tx, monitor.modelId)) return;
    // The canary pointer carries the traffic back, so a canary under analysis gives way.
    if (canary)
      await this.serving.retireCanary(tx, {
        modelId: monitor.modelId,
        modelName: monitor.model,
        canary,
        actor: ANALYSIS_ACTOR,
        reason: `${reason}; a gradual rollback needs the canary pointer`,
      });
    await this.pointers.move(tx, {
      modelId: monitor.modelId,
      versionId: target.versionId,
      stage: 'canary',
      trafficPercent: FIRST_SHIFT_PERCENT,
      actor: ANALYSIS_ACTOR,
      action: 'restored',
      reason,
    });
    await this.alerts.startShift(tx, {
      modelId: monitor.modelId,
      fromVersionId: production.versionId,
      toVersionId: target.versionId,
      alertId: trigger.alertId,
      durationSeconds: gradualSeconds,
    });
    await this.alerts.recordRollback(tx, trigger.alertId, { kind: 'gradual', to: target.version, seconds: gradualSeconds });
    await this.audit.append(tx, {
      actor: ANALYSIS_ACTOR,
      action: 'alert.rollback_started',
      subject: `version:${monitor.model}@${production.version}`,
      payload: { ...evidence, to: target.version, seconds: gradualSeconds, trafficPercent: FIRST_SHIFT_PERCENT },
    });
  }

  private async shift(shift: ShiftRow, now: Date): Promise<void> {
    await this.transactions.run(async (tx) => {
      const pointers = await this.pointers.lock(tx, shift.modelId);
      if (!(await this.alerts.lockShift(tx, shift.modelId))) return;
      const subject = `version:${shift.model}@${shift.fromVersion}`;
      const { canary, production } = pointers;
      if (canary?.versionId !== shift.toVersionId || production?.versionId !== shift.fromVersionId) {
        await this.alerts.endShift(tx, shift.modelId);
        await this.audit.append(tx, {
          actor: ANALYSIS_ACTOR,
          action: 'alert.rollback_cancelled',
          subject,
          payload: { alertId: shift.alertId, reason: 'the stage pointers were moved by hand' },
        });
        return;
      }
      const share = (now.getTime() - new Date(shift.startedAt).getTime()) / (shift.durationSeconds * 1000);
      if (share >= 1) {
        await this.alerts.endShift(tx, shift.modelId);
        const reason = `gradual rollback for alert ${shift.alertId} completed`;
        await this.serving.restoreProduction(tx, {
          modelId: shift.modelId,
          modelName: shift.model,
          current: production,
          target: canary,
          actor: ANALYSIS_ACTOR,
          reason,
          evidence: { alertId: shift.alertId },
        });
        await this.audit.append(tx, { actor: ANALYSIS_ACTOR, action: 'alert.rollback_completed', subject, payload: { alertId: shift.alertId, restored: shift.toVersion } });
        return;
      }
      const percent = Math.min(99, Math.max(FIRST_SHIFT_PERCENT, Math.ceil(FIRST_SHIFT_PERCENT + (100 - FIRST_SHIFT_PERCENT) * share)));
      if (percent !== canary.trafficPercent) await this.pointers.setCanaryTraffic(tx, shift.modelId, canary.versionId, percent);
    });
  }

  /** A version reaching production is watched from the next interval on; one leaving it has its alerts resolved. */
  private async followStage(tx: EntityManager, event: MovedStage): Promise<void> {
    if (event.stage !== 'production') return;
    const { model, version } = await this.alerts.versionRef(tx, event.versionId);
    if (event.action === 'promoted' || event.action === 'restored') {
      await this.alerts.watch(tx, event.modelId, event.versionId, intervalEnd(new Date(), this.policy.for(model).intervalSeconds, this.telemetrySettings));
      return;
    }
    await this.alerts.unwatch(tx, event.modelId);
    for (const alert of await this.alerts.resolveAll(tx, event.versionId)) {
      await this.audit.append(tx, {
        actor: event.actor,
        action: 'alert.resolved',
        subject: `version:${model}@${version}`,
        payload: { alertId: alert.id, rule: alert.rule, reason: `the version was ${event.action} at production` },
      });
    }
  }
}
