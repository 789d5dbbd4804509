export { CatalogModule } from './catalog.module';
export { catalogEntities } from './entities';
export { ModelService } from './services/model.service';
export { VersionService } from './services/version.service';
export { LineageService } from './services/lineage.service';
export { DatasetService } from './services/dataset.service';
export * from './catalog.types';
export * from './errors';
