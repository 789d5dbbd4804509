import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { DatabaseConnection, type SchemaDefinition } from './database-connection';
import { DatabaseHealth } from './database-health';
import { TransactionRunner } from './transaction-runner';

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DatabaseConnection) private readonly connection: DatabaseConnection) {}

  static forRoot(schema: SchemaDefinition): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DatabaseConnection,
          useFactory: (config: AppConfig) => DatabaseConnection.open(config.database, schema),
          inject: [APP_CONFIG],
        },
        { provide: DataSource, useFactory: (c: DatabaseConnection) => c.dataSource, inject: [DatabaseConnection] },
        TransactionRunner,
        DatabaseHealth,
      ],
      exports: [DataSource, TransactionRunner, DatabaseHealth],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
