import { AuditEventEntity } from '@gatehouse/audit';
import { ApiTokenEntity } from '@gatehouse/auth';
import { catalogEntities } from '@gatehouse/catalog';
import { GateRunEntity } from '@gatehouse/gates';
import { TrustedSignerEntity } from '@gatehouse/integrity';
import type { SchemaDefinition } from '@gatehouse/database';
import { migrations } from '../../../migrations';

/** Every lib's entities and the project's migrations: the one schema the registry runs on. */
export const registrySchema: SchemaDefinition = {
  entities: [AuditEventEntity, ApiTokenEntity, ...catalogEntities, TrustedSignerEntity, GateRunEntity],
  migrations,
};
