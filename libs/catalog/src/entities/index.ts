import type { EntityList } from '@gatehouse/database';
import { DatasetEntity } from './dataset.entity';
import { ModelVersionEntity } from './model-version.entity';
import { ModelEntity } from './model.entity';
import { VersionFileEntity } from './version-file.entity';

export { DatasetEntity, ModelEntity, ModelVersionEntity, VersionFileEntity };
export const catalogEntities: EntityList = [ModelEntity, ModelVersionEntity, VersionFileEntity, DatasetEntity];
