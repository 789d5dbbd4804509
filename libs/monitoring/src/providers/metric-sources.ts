import { Inject, Injectable } from '@nestjs/common';
import { MONITORING_POLICY, type MonitoringPolicy } from '../monitoring-policy';
import { TelemetryService } from '../telemetry/telemetry.service';
import type { MetricSource } from './metric-source';
import { PrometheusSource } from './prometheus.source';
import { PushedTelemetrySource } from './pushed-telemetry.source';

/** The metric source each model's policy names. */
@Injectable()
export class MetricSources {
  private readonly pushed: PushedTelemetrySource;

  constructor(
    telemetry: TelemetryService,
    @Inject(MONITORING_POLICY) private readonly policy: MonitoringPolicy,
  ) {
    this.pushed = new PushedTelemetrySource(telemetry);
  }

  forModel(model: string): MetricSource {
    const provider = this.policy.providerFor(model);
    switch (provider.kind) {
      case 'telemetry':
        return this.pushed;
      case 'prometheus':
        return new PrometheusSource(provider);
    }
  }
}
