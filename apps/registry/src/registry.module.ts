import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuditModule } from '@gatehouse/audit';
import { AuthModule } from '@gatehouse/auth';
import { CatalogModule } from '@gatehouse/catalog';
import type { AppConfig } from '@gatehouse/config';
import { ConfigModule } from './config.module';
import { DatabaseModule } from '@gatehouse/database';
import { EventsModule } from '@gatehouse/events';
import { GatesModule } from '@gatehouse/gates';
import { MetricsModule } from '@gatehouse/metrics';
import { MonitoringModule } from '@gatehouse/monitoring';
import { PromotionModule } from '@gatehouse/promotion';
import { StorageModule } from '@gatehouse/storage';
import { HealthController } from './health.controller';
import { metricsController } from './metrics.controller';
import { RequestLogger } from './request-logger.middleware';
import { registrySchema } from './schema';

@Module({})
export class RegistryModule implements NestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(registrySchema),
        MetricsModule,
        StorageModule,
        AuditModule,
        AuthModule,
        EventsModule,
        CatalogModule,
        GatesModule,
        PromotionModule,
        MonitoringModule,
      ],
      controllers: [HealthController, metricsController(config.metricsAuth)],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestLogger).forRoutes('*path');
  }
}
