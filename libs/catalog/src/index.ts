export { CatalogModule } from './catalog.module';
export const catalogEntities = [];
