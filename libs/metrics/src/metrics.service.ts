import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The route label of a request that matched no route: one value, whatever URL was asked for. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Methods a route can answer; anything else a client sends is counted as `other`, so the label stays bounded. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export type GateRunOutcome = 'passed' | 'failed' | 'error';
export type PromotionOutcome = 'completed' | 'rejected';
export type LeaseRenewalResult = 'renewed' | 'lost' | 'failed';
/** What a webhook delivery attempt left: delivered, to be retried, or dead (its last attempt failed). */
export type WebhookAttemptOutcome = 'delivered' | 'retrying' | 'dead';

export interface HttpRequestObservation {
  method: string | undefined;
  /** The matched route's template (`/v1/models/:name`), never the URL; undefined when nothing matched. */
  route: string | undefined;
  statusCode: number;
  seconds: number;
}

/** Seconds to tens of minutes: a gate loads, runs and evaluates a model, within the policy's timeout. */
const GATE_RUN_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * The registry's Prometheus instruments, on a registry of its own rather
 * than prom-client's global one: each application instance (several run in
 * one test process) counts only what it did. Label values are bounded sets
 * (stages, outcomes, audit actions, route templates), never ids or URLs.
 */
/** The window the model-level gauges describe. */
export const MODEL_HEALTH_WINDOW_SECONDS = 300;
/** The gauges of one scrape share one read of the database. */
const SNAPSHOT_REUSE_MS = 1000;

/** One version serving canary or production, over the last MODEL_HEALTH_WINDOW_SECONDS. */
export interface ServingHealth {
  model: string;
  version: string;
  stage: string;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  requests: number;
  errorRate: number | null;
  driftScore: number | null;
}

export interface ModelHealthSnapshot {
  serving: ServingHealth[];
  alertsFiring: { model: string; version: string; severity: string; count: number }[];
}

@Injectable()
export class MetricsService {
  private readonly logger = new Logger('Metrics');
  private readonly registry = new Registry();

  private readonly httpRequestDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code, and how long each took to answer',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });

  private readonly gateRunsFinished = new Counter({
    name: 'gatehouse_gate_runs_finished_total',
    help: 'Gate runs whose outcome was recorded, by target stage and outcome',
    labelNames: ['stage', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly gateRunDuration = new Histogram({
    name: 'gatehouse_gate_run_duration_seconds',
    help: 'Wall-clock time of the attempt that finished a gate run, from its claim to its recorded outcome',
    labelNames: ['stage', 'outcome'] as const,
    buckets: GATE_RUN_BUCKETS,
    registers: [this.registry],
  });

  private readonly gateLeaseRenewals = new Counter({
    name: 'gatehouse_gate_lease_renewals_total',
    help: "Renewals of running gate runs' leases: renewed, lost (another worker holds the run) or failed (the database did not answer)",
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private readonly promotionsDecided = new Counter({
    name: 'gatehouse_promotions_decided_total',
    help: 'Promotion requests that ended, by target stage and outcome',
    labelNames: ['stage', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly rollbacks = new Counter({
    name: 'gatehouse_rollbacks_total',
    help: 'Versions taken out of a stage: production rollbacks and aborted canaries',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });

  private readonly blobBytesIn = new Counter({
    name: 'gatehouse_blob_bytes_in_total',
    help: 'Bytes of uploads accepted into the blob store (hashed, and matching any declared digest)',
    registers: [this.registry],
  });

  private readonly blobBytesOut = new Counter({
    name: 'gatehouse_blob_bytes_out_total',
    help: 'Bytes of version and dataset files streamed out of the blob store to downloads, each checked against its digest on the way',
    registers: [this.registry],
  });

  private readonly auditEventsAppended = new Counter({
    name: 'gatehouse_audit_events_appended_total',
    help: 'Audit events committed to the hash chain, by action',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: 'gatehouse_webhook_deliveries_total',
    help: 'Webhook delivery attempts recorded, by outcome: delivered (2xx), retrying (failed, tried again later) or dead (failed on its last attempt)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly analysisRunsFinished = new Counter({
    name: 'gatehouse_analysis_runs_finished_total',
    help: 'Canary analyses that ended, by outcome: passed, rolled_back, aborted or cancelled',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private gateQueueDepthRead = false;
  private webhookBacklogRead = false;
  private modelHealthRead = false;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition's media type, for the response's content-type. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format, read now (gauges that query the database query it here). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  httpRequest({ method, route, statusCode, seconds }: HttpRequestObservation): void {
    const upper = method?.toUpperCase() ?? '';
    this.httpRequestDuration.observe({ method: HTTP_METHODS.has(upper) ? upper : 'other', route: route ?? UNMATCHED_ROUTE, status_code: String(statusCode) }, seconds);
  }

  gateRunFinished(stage: string, outcome: GateRunOutcome, seconds: number): void {
    this.gateRunsFinished.inc({ stage, outcome });
    this.gateRunDuration.observe({ stage, outcome }, seconds);
  }

  gateLeaseRenewal(result: LeaseRenewalResult): void {
    this.gateLeaseRenewals.inc({ result });
  }

  /**
   * `gatehouse_gate_runs_queued`, read with `count` at each scrape: the
   * queue is gate_runs, shared by every replica, so any replica reports it
   * whole. The gates lib, which owns that table, supplies the query.
   */
  readGateQueueDepthWith(count: () => Promise<number>): void {
    if (this.gateQueueDepthRead) throw new Error('the gate queue depth already has a reader');
    this.gateQueueDepthRead = true;
    const logger = this.logger;
    new Gauge({
      name: 'gatehouse_gate_runs_queued',
      help: 'Gate runs waiting for a worker (queued in gate_runs, across replicas), read at scrape time; NaN when the database did not answer',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await count());
        } catch (error) {
          logger.warn(`could not count queued gate runs: ${(error as Error).message}`);
          this.set(Number.NaN);
        }
      },
    });
  }

  promotionDecided(stage: string, outcome: PromotionOutcome): void {
    this.promotionsDecided.inc({ stage, outcome });
  }

  rolledBack(stage: string): void {
    this.rollbacks.inc({ stage });
  }

  blobBytesStored(bytes: number): void {
    this.blobBytesIn.inc(bytes);
  }

  blobBytesDownloaded(bytes: number): void {
    this.blobBytesOut.inc(bytes);
  }

  auditEventAppended(action: string): void {
    this.auditEventsAppended.inc({ action });
  }

  webhookDeliveryAttempted(outcome: WebhookAttemptOutcome): void {
    this.webhookDeliveries.inc({ outcome });
  }

  analysisRunFinished(outcome: string): void {
    this.analysisRunsFinished.inc({ outcome });
  }

  /**
   * The model-level series, read with `read` at each scrape from what every
   * replica shares (telemetry windows, alerts): latency quantiles, requests,
   * error rate and drift of each version serving canary or production over
   * the last MODEL_HEALTH_WINDOW_SECONDS, and the alerts firing. Their model
   * and version labels are bounded by what serves: two versions per model at
   * most. One read answers every gauge of a scrape.
   */
  readModelHealthWith(read: () => Promise<ModelHealthSnapshot>): void {
    if (this.modelHealthRead) throw new Error('model health already has a reader');
    this.modelHealthRead = true;
    const logger = this.logger;
    let pending: { at: number; snapshot: Promise<ModelHealthSnapshot | undefined> } | undefined;
    const snapshot = () => {
      if (!pending || Date.now() - pending.at > SNAPSHOT_REUSE_MS) {
        pending = {
          at: Date.now(),
          snapshot: read().catch((error: Error) => {
            logger.warn(`could not read model health: ${error.message}`);
            return undefined;
          }),
        };
      }
      return pending.snapshot;
    };
    const serving = ['model', 'version', 'stage'] as const;
    const servingGauge = (name: string, help: string, value: (health: ServingHealth) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: serving,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const health of (await snapshot())?.serving ?? []) {
            const reading = value(health);
            if (reading !== null) this.set({ model: health.model, version: health.version, stage: health.stage }, reading);
          }
        },
      });
    for (const quantile of ['p50', 'p95', 'p99'] as const) {
      servingGauge(
        `gatehouse_model_latency_${quantile}_seconds`,
        `Prediction latency ${quantile} of each version serving canary or production over the last ${MODEL_HEALTH_WINDOW_SECONDS} s, within 1%`,
        (health) => (health.latencyMs ? health.latencyMs[quantile] / 1000 : null),
      );
    }
    servingGauge('gatehouse_model_requests', `Requests reported for each serving version over the last ${MODEL_HEALTH_WINDOW_SECONDS} s`, (health) => health.requests);
    servingGauge('gatehouse_model_error_rate', `Share of failed requests of each serving version over the last ${MODEL_HEALTH_WINDOW_SECONDS} s`, (health) => health.errorRate);
    servingGauge(
      'gatehouse_model_drift_score',
      `Drift of each serving version's inputs and predictions against its training data over the last ${MODEL_HEALTH_WINDOW_SECONDS} s (the largest PSI; warning 0.1, critical 0.3)`,
      (health) => health.driftScore,
    );
    new Gauge({
      name: 'gatehouse_alerts_firing',
      help: 'Alerts firing, by model, version and severity',
      labelNames: ['model', 'version', 'severity'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const alert of (await snapshot())?.alertsFiring ?? []) this.set({ model: alert.model, version: alert.version, severity: alert.severity }, alert.count);
      },
    });
  }

  /**
   * `gatehouse_webhook_backlog{status}`, read with `count` at each scrape:
   * deliveries pending an attempt and dead ones, from webhook_deliveries,
   * which every replica shares. The events lib, which owns it, supplies the query.
   */
  readWebhookBacklogWith(count: () => Promise<{ pending: number; dead: number }>): void {
    if (this.webhookBacklogRead) throw new Error('the webhook backlog already has a reader');
    this.webhookBacklogRead = true;
    const logger = this.logger;
    new Gauge({
      name: 'gatehouse_webhook_backlog',
      help: 'Webhook deliveries by status, across replicas, read at scrape time: pending (waiting for an attempt) and dead (every attempt failed); NaN when the database did not answer',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        try {
          const backlog = await count();
          this.set({ status: 'pending' }, backlog.pending);
          this.set({ status: 'dead' }, backlog.dead);
        } catch (error) {
          logger.warn(`could not count webhook deliveries: ${(error as Error).message}`);
          this.set({ status: 'pending' }, Number.NaN);
          this.set({ status: 'dead' }, Number.NaN);
        }
      },
    });
  }
}
