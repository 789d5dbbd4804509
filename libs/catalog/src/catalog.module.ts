import { Module } from '@nestjs/common';
import { IntegrityModule } from '@gatehouse/integrity';
import { DatasetController } from './controllers/dataset.controller';
import { ModelController } from './controllers/model.controller';
import { VersionController } from './controllers/version.controller';
import { DatasetRepository } from './repositories/dataset.repository';
import { ModelRepository } from './repositories/model.repository';
import { VersionRepository } from './repositories/version.repository';
import { DatasetService } from './services/dataset.service';
import { LineageService } from './services/lineage.service';
import { ModelService } from './services/model.service';
import { VersionEvents } from './services/version-events';
import { VersionService } from './services/version.service';

@Module({
  imports: [IntegrityModule],
  controllers: [ModelController, VersionController, DatasetController],
  providers: [ModelRepository, VersionRepository, DatasetRepository, ModelService, VersionService, VersionEvents, LineageService, DatasetService],
  exports: [ModelService, VersionService, VersionEvents, LineageService, DatasetService],
})
export class CatalogModule {}
