/**
 * What a canary judge and production monitoring compute, without Nest or the
 * database: mergeable telemetry aggregates (plain JSON), a reference profile
 * from a dataset, drift against it, the per-interval judge, the analysis
 * schedule, and alert rules. libs/monitoring stores and schedules; this
 * decides.
 */
export {
  emptyAggregate,
  foldLabel,
  foldObservation,
  foldObservations,
  latencyQuantile,
  mergeAggregates,
  MAX_CLASS_KEYS,
  type BinnedCounts,
  type Observation,
  type TelemetryAggregate,
} from './telemetry-aggregate';
export { aggregateFromHistogram, type HistogramBucket, type HistogramCounts } from './histogram-aggregate';
export { LATENCY_BIN_LIMIT, LATENCY_RELATIVE_ACCURACY, type LatencySketch } from './latency-sketch';
export {
  classKey,
  DEFAULT_MAX_PROFILED_ELEMENTS,
  DEFAULT_PROFILE_BINS,
  referenceProfile,
  type FeatureReference,
  type PredictionReference,
  type ProfileTask,
  type ReferenceExample,
  type ReferenceProfile,
  type ReferenceProfileOptions,
  type SkippedInput,
} from './reference-profile';
export { compareDistributions, inputDrift, predictionDrift, PSI_EPSILON, type DriftReport, type DriftStatistics } from './drift';
export { DEFAULT_JUDGE_CRITERIA, judgeInterval, type IntervalJudgement, type JudgeCriteria, type JudgedMetric, type MetricJudgement, type Verdict } from './judge';
export {
  advanceAnalysis,
  DEFAULT_ANALYSIS_POLICY,
  intervalsPerStep,
  resumeAnalysis,
  startAnalysis,
  type AnalysisAction,
  type AnalysisPolicy,
  type AnalysisState,
  type AnalysisStatus,
} from './analysis-schedule';
export { DEFAULT_ALERT_RULES, evaluateAlertRules, type AlertEvaluation, type AlertMetric, type AlertMinimums, type AlertRule, type AlertSeverity } from './alert-rules';
export { AggregateProfileMismatchError, AnalysisStateError, ObservationError } from './errors';
