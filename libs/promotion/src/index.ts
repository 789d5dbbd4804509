export { PromotionModule } from './promotion.module';
export { PromotionPolicyError } from './promotion-policy';
export { RESOLVE_ROUTE, ResolveEndpoint } from './resolve-endpoint';
export { ServingService, type CanaryAbort, type ProductionRestore } from './serving.service';
export { StagePointerService } from './stage-pointer.service';
export { StageMoved, type MovedStage } from './stage-moved';
