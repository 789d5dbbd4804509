import { Module } from '@nestjs/common';
import { AuthModule } from '@gatehouse/auth';
import { CatalogModule } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { GatesModule } from '@gatehouse/gates';
import { PromotionPolicy } from './promotion-policy';
import { PromotionRepository } from './promotion.repository';
import { PROMOTION_POLICY, PromotionService } from './promotion.service';
import { PromotionsController } from './promotions.controller';
import { ResolveEndpoint } from './resolve-endpoint';
import { ServingService } from './serving.service';
import { StagePointerRepository } from './stage-pointer.repository';
import { StagePointerService } from './stage-pointer.service';
import { StageMoved } from './stage-moved';

@Module({
  imports: [AuthModule, CatalogModule, GatesModule],
  controllers: [PromotionsController],
  providers: [
    // Loaded while the module is built: a bad policy file stops start-up, naming every problem.
    { provide: PROMOTION_POLICY, inject: [APP_CONFIG], useFactory: (config: AppConfig) => PromotionPolicy.load(config.promotionPolicyFile) },
    PromotionRepository,
    PromotionService,
    ServingService,
    StagePointerRepository,
    StagePointerService,
    ResolveEndpoint,
    StageMoved,
  ],
  exports: [StagePointerService, ServingService, StageMoved],
})
export class PromotionModule {}
