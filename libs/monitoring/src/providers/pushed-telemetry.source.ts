import { TelemetryService } from '../telemetry/telemetry.service';
import type { MetricSource, SourcedAggregate, VersionWindow } from './metric-source';

/** Telemetry pushed to POST /v1/models/{name}/telemetry: the default source. */
export class PushedTelemetrySource implements MetricSource {
  constructor(private readonly telemetry: TelemetryService) {}

  async aggregate(window: VersionWindow): Promise<SourcedAggregate> {
    const { aggregate, profile } = await this.telemetry.aggregate(window.versionId, window.from, window.to);
    return { aggregate, profile };
  }
}
