export { PromotionModule } from './promotion.module';
export { PromotionPolicyError } from './promotion-policy';
export { ResolveEndpoint } from './resolve-endpoint';
