export {
  APP_CONFIG,
  ConfigError,
  DEFAULT_GATE_POLICY_FILE,
  DEFAULT_PROMOTION_POLICY_FILE,
  loadConfig,
  type AppConfig,
  type BlobStoreConfig,
  type DatabaseConfig,
  type GateRunnerConfig,
  type LogLevel,
} from './app-config';
