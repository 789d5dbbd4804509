import { Module } from '@nestjs/common';
import { AuthModule } from '@gatehouse/auth';
import { CatalogModule } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { GatesModule } from '@gatehouse/gates';
import { PromotionModule } from '@gatehouse/promotion';
import { ALERT_POLICY, AlertPolicy } from './alerts/alert-policy';
import { AlertRepository } from './alerts/alert.repository';
import { AlertService } from './alerts/alert.service';
import { AlertsController } from './alerts/alerts.controller';
import { ProductionMonitor } from './alerts/production-monitor';
import { AnalysisRunRepository } from './analysis/analysis-run.repository';
import { AnalysisRunsController } from './analysis/analysis-runs.controller';
import { AnalysisService } from './analysis/analysis.service';
import { MONITORING_POLICY, MonitoringPolicy } from './monitoring-policy';
import { MonitoringScheduler } from './monitoring-scheduler';
import { ModelHealth } from './model-health';
import { MetricSources } from './providers/metric-sources';
import { ReferenceProfiles } from './telemetry/reference-profiles';
import { TelemetryController } from './telemetry/telemetry.controller';
import { TelemetryRepository } from './telemetry/telemetry.repository';
import { TelemetryService } from './telemetry/telemetry.service';
import { TelemetryWriter } from './telemetry/telemetry-writer';
import { TELEMETRY_SETTINGS } from './telemetry/telemetry-settings';

@Module({
  imports: [AuthModule, CatalogModule, GatesModule, PromotionModule],
  controllers: [TelemetryController, AnalysisRunsController, AlertsController],
  providers: [
    { provide: TELEMETRY_SETTINGS, inject: [APP_CONFIG], useFactory: (config: AppConfig) => config.telemetry },
    // Loaded while the module is built: a bad policy file stops start-up, naming every problem.
    { provide: MONITORING_POLICY, inject: [APP_CONFIG], useFactory: (config: AppConfig) => MonitoringPolicy.load(config.monitoring.policyFile) },
    { provide: ALERT_POLICY, inject: [APP_CONFIG], useFactory: (config: AppConfig) => AlertPolicy.load(config.monitoring.policyFile) },
    TelemetryRepository,
    TelemetryWriter,
    ReferenceProfiles,
    TelemetryService,
    MetricSources,
    AnalysisRunRepository,
    AnalysisService,
    AlertRepository,
    AlertService,
    ProductionMonitor,
    MonitoringScheduler,
    ModelHealth,
  ],
})
export class MonitoringModule {}
