export { CatalogModule } from './catalog.module';
export { catalogEntities } from './entities';
export { ModelService } from './services/model.service';
export { VersionService, type GateSubjectRecord } from './services/version.service';
export { VersionEvents, type CommitListener, type CommittedVersion } from './services/version-events';
export { LineageService } from './services/lineage.service';
export { DatasetService } from './services/dataset.service';
export * from './catalog.types';
export * from './errors';
