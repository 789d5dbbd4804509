import type { ReferenceProfile, TelemetryAggregate } from '@gatehouse/canary-judge';
import { DomainError } from '@gatehouse/errors';

/** One version of a model over a time range: what a judge or an alert rule asks a source about. */
export interface VersionWindow {
  model: string;
  version: string;
  versionId: string;
  from: Date;
  to: Date;
}

export interface SourcedAggregate {
  aggregate: TelemetryAggregate;
  /** The version's reference profile, for drift; null when the source has none. */
  profile: ReferenceProfile | null;
}

/**
 * Where a model's serving metrics come from: the telemetry its serving
 * systems push, or a Prometheus server that scrapes them. Either answers
 * with the same mergeable aggregate, so the judge and the alert rules do not
 * care which.
 */
export interface MetricSource {
  aggregate(window: VersionWindow): Promise<SourcedAggregate>;
}

/** The source could not answer (a metrics server down or refusing the query): the interval cannot be judged. */
export class MetricSourceUnavailableError extends DomainError {
  constructor(message: string) {
    super('unavailable', 'metric_source_unavailable', message);
  }
}
