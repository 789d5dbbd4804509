export {
  APP_CONFIG,
  ConfigError,
  DEFAULT_SIGNATURE_IGNORE_PATHS,
  loadConfig,
  type AppConfig,
  type BlobStoreConfig,
  type DatabaseConfig,
  type LogLevel,
} from './app-config';
export { ConfigModule } from './config.module';
