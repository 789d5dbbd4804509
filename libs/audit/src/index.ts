export { AuditModule } from './audit.module';
export { AuditLog, type AuditEntry, type ChainVerification } from './audit-log';
export { AuditEventEntity } from './audit-event.entity';
export { canonicalJson, chainHash, GENESIS_HASH } from './audit-chain';
