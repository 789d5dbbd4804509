import { CreateApiTokens1764000000000 } from './1764000000000-CreateApiTokens';
import { CreateCatalog1764000000100 } from './1764000000100-CreateCatalog';
import { CreateAuditLog1764000000200 } from './1764000000200-CreateAuditLog';
import { CreateSigning1764000000300 } from './1764000000300-CreateSigning';
import { TrustCertificates1764000000400 } from './1764000000400-TrustCertificates';
import { CreateGateRuns1764000000500 } from './1764000000500-CreateGateRuns';
import { CreatePromotions1764000000600 } from './1764000000600-CreatePromotions';
import { GateRunBaseline1764000000700 } from './1764000000700-GateRunBaseline';
import { VersionSecurityVerdict1764000000800 } from './1764000000800-VersionSecurityVerdict';
import { GateRunRescans1764000000900 } from './1764000000900-GateRunRescans';
import { ModelScanAllowances1764000001000 } from './1764000001000-ModelScanAllowances';
import { InputExampleRole1764000001100 } from './1764000001100-InputExampleRole';
import { PromotionApproverRoles1764000001400 } from './1764000001400-PromotionApproverRoles';
import { GateRunProgress1764000001500 } from './1764000001500-GateRunProgress';
import { VersionSchemaSource1764000001700 } from './1764000001700-VersionSchemaSource';
import { VersionTagsAndAliases1764000001800 } from './1764000001800-VersionTagsAndAliases';
import { BlobLeases1764000001900 } from './1764000001900-BlobLeases';
import { CreateEvents1764000002000 } from './1764000002000-CreateEvents';
import { CreateTelemetry1764000002100 } from './1764000002100-CreateTelemetry';
import { CreateAnalysisRuns1764000002200 } from './1764000002200-CreateAnalysisRuns';
import { CreateAlerts1764000002300 } from './1764000002300-CreateAlerts';

/** Every migration, oldest first. Forward-only in production; `down` exists for development. */
export const migrations = [
  CreateApiTokens1764000000000,
  CreateCatalog1764000000100,
  CreateAuditLog1764000000200,
  CreateSigning1764000000300,
  TrustCertificates1764000000400,
  CreateGateRuns1764000000500,
  CreatePromotions1764000000600,
  GateRunBaseline1764000000700,
  VersionSecurityVerdict1764000000800,
  GateRunRescans1764000000900,
  ModelScanAllowances1764000001000,
  InputExampleRole1764000001100,
  PromotionApproverRoles1764000001400,
  GateRunProgress1764000001500,
  VersionSchemaSource1764000001700,
  VersionTagsAndAliases1764000001800,
  BlobLeases1764000001900,
  CreateEvents1764000002000,
  CreateTelemetry1764000002100,
  CreateAnalysisRuns1764000002200,
  CreateAlerts1764000002300,
];
