import { Module } from '@nestjs/common';
import { AuthModule } from '@gatehouse/auth';
import { CatalogModule } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { PromotionModule } from '@gatehouse/promotion';
import { AnalysisRunRepository } from './analysis/analysis-run.repository';
import { AnalysisRunsController } from './analysis/analysis-runs.controller';
import { AnalysisScheduler } from './analysis/analysis-scheduler';
import { AnalysisService } from './analysis/analysis.service';
import { MONITORING_POLICY, MonitoringPolicy } from './monitoring-policy';
import { MetricSources } from './providers/metric-sources';
import { ReferenceProfiles } from './telemetry/reference-profiles';
import { TelemetryController } from './telemetry/telemetry.controller';
import { TelemetryRepository } from './telemetry/telemetry.repository';
import { TelemetryService } from './telemetry/telemetry.service';
import { TELEMETRY_SETTINGS } from './telemetry/telemetry-settings';

@Module({
  imports: [AuthModule, CatalogModule, PromotionModule],
  controllers: [TelemetryController, AnalysisRunsController],
  providers: [
    { provide: TELEMETRY_SETTINGS, inject: [APP_CONFIG], useFactory: (config: AppConfig) => config.telemetry },
    // Loaded while the module is built: a bad policy file stops start-up, naming every problem.
    { provide: MONITORING_POLICY, inject: [APP_CONFIG], useFactory: (config: AppConfig) => MonitoringPolicy.load(config.monitoring.policyFile) },
    TelemetryRepository,
    ReferenceProfiles,
    TelemetryService,
    MetricSources,
    AnalysisRunRepository,
    AnalysisService,
    AnalysisScheduler,
  ],
  exports: [TelemetryService],
})
export class MonitoringModule {}
