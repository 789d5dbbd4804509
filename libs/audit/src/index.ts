export { AuditModule } from './audit.module';
export { AuditLog, type ChainVerification } from './audit-log';
export { AuditAppended, type AppendedAuditEvent } from './audit-appended';
export { auditEntities } from './audit-event.entity';
export { canonicalJson } from './audit-chain';
