import { Global, Module } from '@nestjs/common';
import { AuditAppended } from './audit-appended';
import { AuditLog } from './audit-log';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';

@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditLog, AuditAppended],
  exports: [AuditLog, AuditAppended],
})
export class AuditModule {}
