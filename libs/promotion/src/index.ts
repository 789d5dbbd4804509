export { PromotionModule } from './promotion.module';
export { PromotionPolicy, PromotionPolicyError } from './promotion-policy';
export { servesCanary } from './traffic-split';
export { ResolveEndpoint } from './resolve-endpoint';
