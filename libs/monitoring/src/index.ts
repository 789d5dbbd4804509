export { MonitoringModule } from './monitoring.module';
export { TelemetryService } from './telemetry/telemetry.service';
