export { MetricsModule } from './metrics.module';
export { MetricsService, UNMATCHED_ROUTE, type GateRunOutcome, type HttpRequestObservation, type LeaseRenewalResult, type PromotionOutcome } from './metrics.service';
