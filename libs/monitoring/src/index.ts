export { MonitoringModule } from './monitoring.module';
export { MonitoringPolicyError } from './monitoring-policy';
