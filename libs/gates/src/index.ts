export { GatesModule } from './gates.module';
export { GateRunService } from './gate-run.service';
export { GateRunFinished, type FinishedGateRun } from './gate-run-events';
export { CanaryAnalysisRecords, type CanaryAnalysisSource } from './canary-analysis-records';
export { gateEntities } from './gate-run.entity';
export type { GateRunStatus } from './gate-run.entity';
