/**
 * The gate engine without Nest or the database: what the registry's gate
 * worker and the offline `gatehouse validate` both run.
 */
export * from './check';
export { BaselineContext, GateContext, ModelFileError, type DatasetRole, type DeclaredSchema, type GateBaseline, type GateDataset, type GateSubject, type ManifestFile } from './gate-context';
export { GateEngine, GateTimeoutError } from './gate-engine';
export { DEFAULT_GATE_SETTINGS, GatePolicy, GatePolicyError, type GateSettings, type PolicyCheck, type StagePolicy } from './gate-policy';
export { renderMarkdown, summarize, type ComparisonRow, type GateReport, type GateVerdict } from './gate-report';
export { DatasetFormatError, evaluateDataset, feedsFor, readBatches, type MeasuredMetrics } from './evaluation';
export { GATE_CHECKS } from './checks';
