import type { GateCheck } from '../check';
import { ArchitectureCheck } from './validation/architecture.check';
import { BatchSizesCheck } from './validation/batch-sizes.check';
import { BrowserCompatCheck } from './validation/browser-compat.check';
import { EvaluationCheck } from './validation/evaluation.check';
import { FilesIntactCheck } from './validation/files-intact.check';
import { FinalLossCheck } from './validation/final-loss.check';
import { LatencyCheck } from './validation/latency.check';
import { ModelLoadsCheck } from './validation/model-loads.check';
import { OnnxParsesCheck } from './validation/onnx-parses.check';
import { OutputConsistencyCheck } from './validation/output-consistency.check';
import { ReportedMetricsCheck } from './validation/reported-metrics.check';
import { SampleQualityCheck } from './validation/sample-quality.check';
import { SchemaMatchCheck } from './validation/schema-match.check';
import { SizeLimitCheck } from './validation/size-limit.check';
import { SmokeRunCheck } from './validation/smoke-run.check';
import { TrainAccuracyCheck } from './validation/train-accuracy.check';
import { WeightsFiniteCheck } from './validation/weights-finite.check';
import { BaselineAccuracyCheck } from './regression/baseline-accuracy.check';
import { BaselineLatencyCheck } from './regression/baseline-latency.check';
import { BaselineMemoryCheck } from './regression/baseline-memory.check';
import { BaselineSizeCheck } from './regression/baseline-size.check';
import { CanaryAnalysisCheck } from './regression/canary-analysis.check';
import { ContractCompatCheck } from './regression/contract-compat.check';
import { ArtifactScanCheck } from './security/artifact-scan.check';
import { SignatureTrustedCheck } from './security/signature-trusted.check';

/** Every check a policy may name, by id. */
export const GATE_CHECKS: readonly GateCheck[] = [
  new FilesIntactCheck(),
  new SizeLimitCheck(),
  new OnnxParsesCheck(),
  new WeightsFiniteCheck(),
  new ArchitectureCheck(),
  new ModelLoadsCheck(),
  new SchemaMatchCheck(),
  new SmokeRunCheck(),
  new BatchSizesCheck(),
  new SampleQualityCheck(),
  new EvaluationCheck(),
  new TrainAccuracyCheck(),
  new FinalLossCheck(),
  new ReportedMetricsCheck(),
  new OutputConsistencyCheck(),
  new LatencyCheck(),
  new BrowserCompatCheck(),
  new ContractCompatCheck(),
  new BaselineSizeCheck(),
  new BaselineAccuracyCheck(),
  new BaselineLatencyCheck(),
  new BaselineMemoryCheck(),
  new CanaryAnalysisCheck(),
  new ArtifactScanCheck(),
  new SignatureTrustedCheck(),
];
