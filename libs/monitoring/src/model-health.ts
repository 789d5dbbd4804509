import { Injectable, OnModuleInit } from '@nestjs/common';
import { DEFAULT_JUDGE_CRITERIA, inputDrift, latencyQuantile, predictionDrift } from '@gatehouse/canary-judge';
import { StageService } from '@gatehouse/catalog';
import { TransactionRunner } from '@gatehouse/database';
import { MetricsService, MODEL_HEALTH_WINDOW_SECONDS, type ModelHealthSnapshot, type ServingHealth } from '@gatehouse/metrics';
import { AlertRepository } from './alerts/alert.repository';
import { MetricSourceUnavailableError } from './providers/metric-source';
import { MetricSources } from './providers/metric-sources';

/** Feeds /metrics its model-level series: how each serving version did over the last window, and the alerts firing. */
@Injectable()
export class ModelHealth implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly stages: StageService,
    private readonly sources: MetricSources,
    private readonly alerts: AlertRepository,
    private readonly transactions: TransactionRunner,
  ) {}

  onModuleInit(): void {
    this.metrics.readModelHealthWith(() => this.snapshot());
  }

  async snapshot(now = new Date()): Promise<ModelHealthSnapshot> {
    const from = new Date(now.getTime() - MODEL_HEALTH_WINDOW_SECONDS * 1000);
    const serving: ServingHealth[] = [];
    for (const row of await this.stages.serving()) {
      let sourced;
      try {
        sourced = await this.sources.forModel(row.model).aggregate({ model: row.model, version: row.version, versionId: row.versionId, from, to: now });
      } catch (error) {
        // A metrics server that does not answer leaves its versions out of this scrape rather than failing every series.
        if (error instanceof MetricSourceUnavailableError) continue;
        throw error;
      }
      const { aggregate, profile } = sourced;
      const p50 = latencyQuantile(aggregate, 0.5);
      const drift = profile
        ? [
            inputDrift(aggregate, profile, DEFAULT_JUDGE_CRITERIA.minDriftSamples).score,
            predictionDrift(aggregate, profile, DEFAULT_JUDGE_CRITERIA.minDriftSamples)?.psi ?? null,
          ].filter((score): score is number => score !== null)
        : [];
      serving.push({
        model: row.model,
        version: row.version,
        stage: row.stage,
        latencyMs: p50 === null ? null : { p50, p95: latencyQuantile(aggregate, 0.95)!, p99: latencyQuantile(aggregate, 0.99)! },
        requests: aggregate.count,
        errorRate: aggregate.count > 0 ? aggregate.errors / aggregate.count : null,
        driftScore: drift.length > 0 ? Math.max(...drift) : null,
      });
    }
    return { serving, alertsFiring: await this.alerts.firingCounts(this.transactions.manager) };
  }
}
