/**
 * The gate engine without Nest or the database: what the registry's gate
 * worker and the offline `gatehouse validate` both run.
 */
export * from './check';
export { DATASET_ROLES, GATE_STAGES, TASKS, type DatasetRole, type GateStage, type IoSchema, type Severity, type Task } from './terms';
export { DEFAULT_GATE_SETTINGS, type GateSettings } from './gate-settings';
export { BaselineContext, GateContext, ModelFileError, type GateBaseline, type GateDataset, type GateSubject, type ManifestFile } from './gate-context';
export { GateEngine, GateTimeoutError } from './gate-engine';
export { GatePolicy, GatePolicyError, type PolicyCheck, type StagePolicy } from './gate-policy';
export { renderMarkdown, summarize, type ComparisonRow, type GateReport, type GateVerdict } from './gate-report';
export { DatasetFormatError, evaluateDataset, feedsFor, readBatches, type MeasuredMetrics } from './evaluation';
export { GATE_CHECKS } from './checks';
