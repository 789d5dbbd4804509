/**
 * The gate engine without Nest or the database: what the registry's gate
 * worker and the offline `gatehouse validate` both run.
 */
export type { CheckResult, Thresholds } from './check';
export {
  DATASET_ROLES,
  GATE_STAGES,
  SCHEMA_SOURCES,
  TASKS,
  type DatasetRole,
  type GateStage,
  type IoSchema,
  type SchemaSource,
  type Severity,
  type Task,
  type VersionSchema,
} from './terms';
export { DEFAULT_GATE_SETTINGS, type GateSettings } from './gate-settings';
export { GateContext, type CanaryAnalysisStanding, type GateBaseline, type GateDataset, type GateSubject } from './gate-context';
export { GateEngine, GateTimeoutError, type GateProgress } from './gate-engine';
export { GatePolicy, GatePolicyError, type StagePolicy } from './gate-policy';
export { applyValidationThresholds, loadValidationThresholds, VALIDATION_THRESHOLD_KEYS, ValidationThresholdsError, type ValidationThresholds } from './validation-thresholds';
export { renderMarkdown, summarize, type GateReport, type SandboxResources } from './gate-report';
export { runInSandbox, sandboxResources, SandboxError, SANDBOX_CHECK_ID, unlimitedCommand, unlimitedLauncher, type SandboxOptions, type SandboxRequest } from './sandbox';
export { GATE_CHECKS } from './checks';
export { CHROMIUM_FLAGS, DEFAULT_CHROMIUM_PATH } from './browser/chromium';
export { CANARY_ANALYSIS_CHECK_ID } from './checks/regression/canary-analysis.check';
export { inferredSchemaOf } from './checks/validation/schema-match.check';
