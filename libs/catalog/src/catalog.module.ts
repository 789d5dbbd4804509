import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { IntegrityModule } from '@gatehouse/integrity';
import { AliasPolicy } from './alias-policy';
import { AliasController } from './controllers/alias.controller';
import { BlobCollectorController } from './controllers/blob-collector.controller';
import { DatasetController } from './controllers/dataset.controller';
import { ModelController } from './controllers/model.controller';
import { VersionController } from './controllers/version.controller';
import { AliasRepository } from './repositories/alias.repository';
import { BlobReferenceRepository } from './repositories/blob-reference.repository';
import { DatasetRepository } from './repositories/dataset.repository';
import { ModelRepository } from './repositories/model.repository';
import { StageRepository } from './repositories/stage.repository';
import { VersionRepository } from './repositories/version.repository';
import { VersionSecurityRepository } from './repositories/version-security.repository';
import { VersionSignatureRepository } from './repositories/version-signature.repository';
import { ALIAS_POLICY, AliasService } from './services/alias.service';
import { BlobCollector } from './services/blob-collector.service';
import { DatasetService } from './services/dataset.service';
import { LineageService } from './services/lineage.service';
import { ModelService } from './services/model.service';
import { StageService } from './services/stage.service';
import { VersionCommitted } from './services/version-events';
import { VersionMetadataService } from './services/version-metadata.service';
import { VersionService } from './services/version.service';
import { VersionSecurityService } from './services/version-security.service';
import { VersionSigningService } from './services/version-signing.service';

@Module({
  imports: [IntegrityModule],
  controllers: [ModelController, VersionController, AliasController, DatasetController, BlobCollectorController],
  providers: [
    { provide: ALIAS_POLICY, inject: [APP_CONFIG], useFactory: (config: AppConfig) => AliasPolicy.load(config.promotionPolicyFile) },
    AliasRepository,
    AliasService,
    BlobReferenceRepository,
    BlobCollector,
    ModelRepository,
    VersionRepository,
    DatasetRepository,
    StageRepository,
    VersionSecurityRepository,
    VersionSignatureRepository,
    ModelService,
    VersionService,
    VersionMetadataService,
    VersionSecurityService,
    VersionSigningService,
    VersionCommitted,
    StageService,
    LineageService,
    DatasetService,
  ],
  exports: [BlobCollector, ModelService, VersionService, VersionSecurityService, VersionCommitted, StageService, LineageService, DatasetService],
})
export class CatalogModule {}
