import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  DEFAULT_JUDGE_CRITERIA,
  emptyAggregate,
  foldLabel,
  foldObservations,
  inputDrift,
  latencyQuantile,
  mergeAggregates,
  predictionDrift,
  type Observation,
  type ReferenceProfile,
  type TelemetryAggregate,
} from '@gatehouse/canary-judge';
import { ModelService, VersionService } from '@gatehouse/catalog';
import { ReadCache, TransactionRunner } from '@gatehouse/database';
import { DomainError } from '@gatehouse/errors';
import type { LabelReceipt, TelemetryReceipt, TelemetrySummary, TelemetryWindowQuery } from '../dto/telemetry.dto';
import { ReferenceProfiles } from './reference-profiles';
import { InvalidTelemetryError, parseLabelBatch, parseTelemetryBatch, type ReportedObservation } from './telemetry-batch';
import { TelemetryRepository, type PendingLabel, type WindowDelta } from './telemetry.repository';
import { TelemetryWriter } from './telemetry-writer';
import type { TelemetryConfig } from '@gatehouse/config';
import { TELEMETRY_SETTINGS, windowStart } from './telemetry-settings';

type Prediction = NonNullable<Observation['prediction']>;

const HOUR_MS = 3600_000;
const VERSION_CACHE_MS = 5000;
const VERSION_CACHE_ENTRIES = 10_000;
/** How often each replica drops windows past retention and predictions whose labels never came; deleting twice is harmless. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Takes in what serving systems observed and keeps it as one mergeable
 * aggregate per version and window. A batch is checked whole before
 * anything is written, then folded in memory and merged into its windows in
 * one transaction (shared with the reports arriving alongside it, see
 * TelemetryWriter): it is kept entirely or not at all.
 */
@Injectable()
export class TelemetryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TelemetryService');
  private pruneTimer?: NodeJS.Timeout;
  /**
   * Each batch names its versions, and every replica receives thousands of
   * batches: committed versions' ids are kept a few seconds. Only ids are
   * kept, never a refusal, so a version is accepted as soon as it is committed.
   */
  private readonly committed = new ReadCache<string, CommittedVersion>(VERSION_CACHE_MS, VERSION_CACHE_ENTRIES);

  constructor(
    private readonly repository: TelemetryRepository,
    private readonly writer: TelemetryWriter,
    private readonly profiles: ReferenceProfiles,
    private readonly models: ModelService,
    private readonly versions: VersionService,
    private readonly transactions: TransactionRunner,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetryConfig,
  ) {}

  /** Prunes at start, then every PRUNE_INTERVAL_MS: a replica that was down long leaves no backlog of expired rows behind. */
  onApplicationBootstrap(): void {
    const prune = () => void this.prune().catch((error: Error) => this.logger.warn(`pruning telemetry failed: ${error.message}`));
    prune();
    this.pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.pruneTimer);
  }

  async report(modelName: string, body: unknown): Promise<TelemetryReceipt> {
    const observations = parseTelemetryBatch(body, { maxObservations: this.settings.maxBatch, retentionMs: this.settings.retentionDays * 24 * HOUR_MS });
    const served = await this.servedVersions(modelName, observations);
    const modelId = served.values().next().value!.modelId;
    const versionIds = new Map([...served].map(([version, record]) => [version, record.id]));
    const profiles = new Map<string, ReferenceProfile | null>();
    for (const versionId of new Set(versionIds.values())) profiles.set(versionId, await this.profiles.of(versionId));

    const groups = new Map<string, { versionId: string; windowStart: Date; observations: ReportedObservation[] }>();
    const pending: PendingLabel[] = [];
    for (const observation of observations) {
      const versionId = versionIds.get(observation.version)!;
      const start = windowStart(observation.time, this.settings);
      const key = `${versionId}/${start.getTime()}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { versionId, windowStart: start, observations: [] }));
      group.observations.push(observation);
      if (observation.requestId !== undefined && observation.prediction !== undefined && observation.label === undefined) {
        pending.push({ requestId: observation.requestId, versionId, windowStart: start, prediction: observation.prediction });
      }
    }
    const deltas: WindowDelta[] = [...groups.values()].map((group) => ({
      versionId: group.versionId,
      windowStart: group.windowStart,
      observations: group.observations.length,
      aggregate: foldObservations(emptyAggregate(), group.observations, profiles.get(group.versionId) ?? undefined),
    }));
    await this.writer.write({ modelId, deltas, pending });
    return { accepted: observations.length, windows: deltas.length, awaitingLabels: new Set(pending.map((row) => row.requestId)).size };
  }

  /** Labels for predictions reported earlier with a request id: each is scored in the window its prediction was counted in. */
  async label(modelName: string, body: unknown): Promise<LabelReceipt> {
    const labels = parseLabelBatch(body, this.settings.maxBatch);
    const modelId = await this.models.idOf(modelName);
    const byRequest = new Map(labels.map((entry) => [entry.requestId, entry.label]));
    return this.transactions.run(async (tx) => {
      const found = await this.repository.takePendingLabels(tx, modelId, [...byRequest.keys()]);
      const deltas = new Map<string, WindowDelta>();
      for (const row of found) {
        const windowStart = new Date(row.windowStart);
        const key = `${row.versionId}/${windowStart.getTime()}`;
        const delta = deltas.get(key) ?? { versionId: row.versionId, windowStart, observations: 0, aggregate: emptyAggregate() };
        deltas.set(key, { ...delta, aggregate: foldLabel(delta.aggregate, row.prediction as Prediction, byRequest.get(row.requestId)!) });
      }
      if (deltas.size > 0) await this.repository.mergeWindows(tx, [...deltas.values()], mergeAggregates);
      return { matched: found.length, unmatched: byRequest.size - found.length };
    });
  }

  /** One version's observations in [from, to), merged: what a judge or a rule reads. */
  async aggregate(versionId: string, from: Date, to: Date): Promise<{ aggregate: TelemetryAggregate; windows: number; profile: ReferenceProfile | null }> {
    const windows = await this.repository.windows(this.transactions.manager, versionId, from, to);
    return { aggregate: windows.map((window) => window.aggregate).reduce(mergeAggregates, emptyAggregate()), windows: windows.length, profile: await this.profiles.of(versionId) };
  }

  /** What a version did in [from, to): counts, latency quantiles, outcomes and drift against its reference profile. */
  async summary(modelName: string, versionName: string, query: TelemetryWindowQuery): Promise<TelemetrySummary> {
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - HOUR_MS);
    if (from.getTime() >= to.getTime()) throw new DomainError('invalid', 'invalid_time_range', `from (${from.toISOString()}) must be before to (${to.toISOString()})`);
    const version = await this.versions.lookup(modelName, versionName);
    const { aggregate, windows, profile } = await this.aggregate(version.id, from, to);
    const stored = await this.profiles.datasetOf(version.id);
    const quantile = (q: number) => latencyQuantile(aggregate, q);
    const p50 = quantile(0.5);
    const drift =
      profile && stored
        ? {
            dataset: stored,
            ...inputDrift(aggregate, profile, DEFAULT_JUDGE_CRITERIA.minDriftSamples),
            predictions: predictionDrift(aggregate, profile, DEFAULT_JUDGE_CRITERIA.minDriftSamples),
          }
        : null;
    const { classLabels, valueLabels } = aggregate;
    return {
      model: modelName,
      version: versionName,
      from: from.toISOString(),
      to: to.toISOString(),
      windows,
      observations: aggregate.count,
      errors: aggregate.errors,
      errorRate: aggregate.count > 0 ? aggregate.errors / aggregate.count : null,
      latencyMs: p50 === null ? null : { p50, p95: quantile(0.95)!, p99: quantile(0.99)! },
      classes: aggregate.classes,
      outcomes: {
        labelled: classLabels.count + valueLabels.count,
        accuracy: classLabels.count > 0 ? classLabels.correct / classLabels.count : null,
        meanSquaredError: valueLabels.count > 0 ? valueLabels.squaredErrorSum / valueLabels.count : null,
      },
      drift,
    };
  }

  async prune(): Promise<void> {
    const removed = await this.repository.prune(this.transactions.manager, new Date(Date.now() - this.settings.retentionDays * 24 * HOUR_MS));
    if (removed.windows + removed.pendingLabels > 0)
      this.logger.log(`pruned ${removed.windows} telemetry windows and ${removed.pendingLabels} predictions whose labels never came`);
  }

  /** Each reported version's id; a batch naming a version the model does not have, or one not committed, is refused at its first such observation. */
  private async servedVersions(modelName: string, observations: ReportedObservation[]): Promise<Map<string, CommittedVersion>> {
    const ids = new Map<string, CommittedVersion>();
    for (const [index, observation] of observations.entries()) {
      if (ids.has(observation.version)) continue;
      const ref = `${modelName}@${observation.version}`;
      try {
        ids.set(observation.version, await this.committed.get(ref, () => this.committedVersionId(modelName, observation.version)));
      } catch (error) {
        const field = `observations[${index}].version`;
        if (error instanceof VersionNotCommittedError) throw new InvalidTelemetryError(field, `names ${ref}, which is not committed yet and cannot be serving`);
        if (error instanceof DomainError && error.code === 'version_not_found') throw new InvalidTelemetryError(field, `names ${ref}, which does not exist`);
        throw error;
      }
    }
    return ids;
  }

  /** A committed version's ids; a model or version not found, or not committed, throws, and so is not kept by the cache. */
  private async committedVersionId(modelName: string, versionName: string): Promise<CommittedVersion> {
    const record = await this.versions.lookup(modelName, versionName);
    if (record.status === 'pending_upload') throw new VersionNotCommittedError();
    return { id: record.id, modelId: record.modelId };
  }
}

interface CommittedVersion {
  id: string;
  modelId: string;
}

class VersionNotCommittedError extends Error {}
