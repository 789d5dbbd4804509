export { MetricsModule } from './metrics.module';
export {
  MetricsService,
  MODEL_HEALTH_WINDOW_SECONDS,
  UNMATCHED_ROUTE,
  type ModelHealthSnapshot,
  type ServingHealth,
  type GateRunOutcome,
  type HttpRequestObservation,
  type LeaseRenewalResult,
  type PromotionOutcome,
} from './metrics.service';
