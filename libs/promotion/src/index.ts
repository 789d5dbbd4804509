export { PromotionModule } from './promotion.module';
export { PromotionPolicyError } from './promotion-policy';
export { RESOLVE_ROUTE, ResolveEndpoint } from './resolve-endpoint';
