import { Module } from '@nestjs/common';
import { AuthModule } from '@gatehouse/auth';
import { CatalogModule } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { ReferenceProfiles } from './telemetry/reference-profiles';
import { TelemetryController } from './telemetry/telemetry.controller';
import { TelemetryRepository } from './telemetry/telemetry.repository';
import { TelemetryService } from './telemetry/telemetry.service';
import { TELEMETRY_SETTINGS } from './telemetry/telemetry-settings';

@Module({
  imports: [AuthModule, CatalogModule],
  controllers: [TelemetryController],
  providers: [{ provide: TELEMETRY_SETTINGS, inject: [APP_CONFIG], useFactory: (config: AppConfig) => config.telemetry }, TelemetryRepository, ReferenceProfiles, TelemetryService],
  exports: [TelemetryService],
})
export class MonitoringModule {}
