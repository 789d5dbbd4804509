/** Scanning model artifacts for what would run code or escape the version when loaded, without loading them. */
export { scanArtifact, type ScanPolicy } from './artifact-scanner';
export { FINDING_SEVERITIES, sortFindings, type FindingSeverity, type SecurityFinding } from './finding';
export { SCANNER_VERSION } from './scanner-version';
export { externalDataFiles } from './onnx-scanner';
export { judgeGlobal } from './pickle-policy';
