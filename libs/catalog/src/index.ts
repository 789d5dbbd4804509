export { CatalogModule } from './catalog.module';
export { catalogEntities } from './entities';
export { BlobCollector, type CollectionReport } from './services/blob-collector.service';
export { ModelService } from './services/model.service';
export { ModelScanAllowancesResponse } from './dto/model.dto';
export { VersionService, type GateSubjectRecord } from './services/version.service';
export { VersionSecurityService } from './services/version-security.service';
export type { RescanCandidateRow } from './repositories/version-security.repository';
export { VersionCommitted, type CommittedVersion } from './services/version-events';
export { StageService, type StagePointers } from './services/stage.service';
export type { ServingVersionRow, StageAssignmentRow } from './repositories/stage.repository';
export { StageHistoryResponse } from './dto/stage.dto';
export {
  SERVING_STAGES,
  type ScanAllowanceRules,
  type ScanAllowances,
  type SecurityVerdict,
  type ServingStage,
  type StageAction,
  type VersionRef,
  type VersionStage,
  type VersionStatus,
} from './catalog.types';
