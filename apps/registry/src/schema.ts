import { auditEntities } from '@gatehouse/audit';
import { authEntities } from '@gatehouse/auth';
import { catalogEntities } from '@gatehouse/catalog';
import type { SchemaDefinition } from '@gatehouse/database';
import { eventEntities } from '@gatehouse/events';
import { gateEntities } from '@gatehouse/gates';
import { integrityEntities } from '@gatehouse/integrity';
import { migrations } from '../../../migrations';

/** Every lib's entities and the project's migrations: the one schema the registry runs on. */
export const registrySchema: SchemaDefinition = {
  entities: [...auditEntities, ...authEntities, ...catalogEntities, ...integrityEntities, ...gateEntities, ...eventEntities],
  migrations,
};
