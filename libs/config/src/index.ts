export {
  APP_CONFIG,
  ConfigError,
  DEFAULT_GATE_POLICY_FILE,
  loadConfig,
  type AppConfig,
  type BlobStoreConfig,
  type DatabaseConfig,
  type LogLevel,
  type MetricsAuth,
  type TelemetryConfig,
  type WebhookDeliveryConfig,
} from './app-config';
