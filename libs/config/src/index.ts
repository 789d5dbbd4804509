export {
  APP_CONFIG,
  ConfigError,
  loadConfig,
  type AppConfig,
  type BlobStoreConfig,
  type DatabaseConfig,
  type LogLevel,
} from './app-config';
export { ConfigModule } from './config.module';
