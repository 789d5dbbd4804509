import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DATASET_ROLES, SCHEMA_SOURCES, TASKS, type DatasetRole, type IoSchema, type SchemaSource, type Task } from '@gatehouse/gate-engine';
import {
  SECURITY_STATUSES,
  VERSION_STAGES,
  VERSION_STATUSES,
  type LatestGate,
  type SecurityStatus,
  type SecurityVerdict,
  type SourceInfo,
  type VersionStage,
  type VersionStatus,
} from '../catalog.types';
import { StageEventResponse } from './stage.dto';
import { IoSchemaDto, SourceDto } from './version.dto';

export class VersionFileResponse {
  @ApiProperty({ example: 'model.onnx' }) path: string;
  @ApiProperty() sha256: string;
  @ApiProperty() size: number;
  @ApiProperty() mediaType: string;
}

export class ParentResponse {
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty() relation: string;
}

export class VersionDatasetResponse {
  @ApiProperty() name: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: DATASET_ROLES }) role: DatasetRole;
  @ApiProperty() sha256: string;
  @ApiProperty({ nullable: true, type: Number }) size: number | null;
  @ApiProperty({ nullable: true, type: String }) uri: string | null;
}

export class LatestGateResponse implements LatestGate {
  @ApiProperty({ description: 'GET /v1/gate-runs/{runId} has the report' }) runId: string;
  @ApiProperty({ enum: ['registered', 'staging', 'canary', 'production'] }) stage: string;
  @ApiProperty({ enum: ['queued', 'running', 'passed', 'failed', 'error'] }) status: string;
  @ApiProperty({ nullable: true, type: Number, description: "The report's health score, (passed + 0.5 × warnings) / counted checks × 100; null until the run finishes" })
  healthScore: number | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
}

export class SecurityVerdictResponse implements SecurityVerdict {
  @ApiProperty({ enum: SECURITY_STATUSES, description: 'flagged: the latest scan failed; the version keeps serving where it is but cannot be promoted further' })
  status: SecurityStatus;
  @ApiProperty({ example: '2026.12.1' }) scannerVersion: string;
  @ApiProperty({ description: 'SHA-256 of the artifact_scan severity and thresholds the verdict was reached under' }) policyDigest: string;
  @ApiProperty({ description: 'GET /v1/gate-runs/{gateRunId} has the findings' }) gateRunId: string;
  @ApiProperty() at: string;
  @ApiPropertyOptional({ description: 'What the scan found, when flagged' }) message?: string;
}

export class VersionSummaryResponse {
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: VERSION_STATUSES }) status: VersionStatus;
  @ApiProperty({ enum: VERSION_STAGES }) stage: VersionStage;
  @ApiProperty({ enum: TASKS }) task: Task;
  @ApiProperty({ nullable: true, type: String }) format: string | null;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'Key/value tags, which may change after commit' }) tags: Record<string, string>;
  @ApiProperty({ type: [String], description: 'The aliases pointing at this version, e.g. champion' }) aliases: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } }) metrics: Record<string, number>;
  @ApiProperty({ nullable: true, type: String, description: 'SHA-256 over the sealed manifest' }) manifestDigest: string | null;
  @ApiProperty({ nullable: true, type: Number }) size: number | null;
  @ApiProperty({ nullable: true, type: Number }) fileCount: number | null;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) committedAt: string | null;
  @ApiProperty({ type: LatestGateResponse, nullable: true, description: 'The latest gate run on this version' }) gate: LatestGateResponse | null;
  @ApiProperty({
    type: SecurityVerdictResponse,
    nullable: true,
    description: 'The latest artifact-scan verdict, re-scanned when the scanner or its policy changes; null until a scan has run',
  })
  security: SecurityVerdictResponse | null;
}

export class SignatureSummaryResponse {
  @ApiProperty({ description: 'Trusted signer name' }) signer: string;
  @ApiProperty() fingerprint: string;
  @ApiProperty() verifiedAt: string;
}

export class VersionResponse extends VersionSummaryResponse {
  @ApiProperty({ type: SignatureSummaryResponse, nullable: true, description: 'Verified at commit' }) signature: SignatureSummaryResponse | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) params: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true }) environment: Record<string, unknown>;
  @ApiProperty({ type: SourceDto }) source: SourceInfo;
  @ApiProperty({ type: IoSchemaDto, nullable: true, description: 'The input/output schema, declared or inferred (see schemaSource); null until a gate has inferred one' })
  schema: IoSchema | null;
  @ApiProperty({
    enum: SCHEMA_SOURCES,
    nullable: true,
    description: "declared by the registrant, or inferred from the ONNX model's graph by the first gate run on a version that declared none",
  })
  schemaSource: SchemaSource | null;
  @ApiProperty({ type: [ParentResponse] }) parents: ParentResponse[];
  @ApiProperty({ type: [VersionDatasetResponse] }) datasets: VersionDatasetResponse[];
  @ApiProperty({ type: [VersionFileResponse], description: 'The manifest, sorted by path components' }) files: VersionFileResponse[];
}

export class AbandonedFileResponse {
  @ApiProperty() path: string;
  @ApiProperty() sha256: string;
  @ApiProperty() size: number;
}

export class AbandonedVersionResponse {
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ type: [AbandonedFileResponse], description: 'The files it had; their bytes go with the next blob collection if nothing else holds them' })
  files: AbandonedFileResponse[];
}

export class DeclaredVersionResponse extends VersionResponse {
  @ApiPropertyOptional({ example: '/v1/models/fraud/versions/1.2.0/files/{path}' }) uploadUrl: string;
}

export class VersionPage {
  @ApiProperty({ type: [VersionSummaryResponse] }) items: VersionSummaryResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class LineageNodeResponse {
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: VERSION_STATUSES }) status: VersionStatus;
  @ApiProperty({ enum: VERSION_STAGES }) stage: VersionStage;
  @ApiProperty({ enum: TASKS }) task: Task;
  @ApiProperty({ enum: ['self', 'ancestor', 'descendant'] }) relation: 'self' | 'ancestor' | 'descendant';
  @ApiProperty({ description: 'Edges from the queried version' }) distance: number;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: [StageEventResponse], description: 'Every stage move of the version, oldest first: who promoted, approved or rolled it back, when, on which gate report' })
  stageHistory: StageEventResponse[];
}

export class LineageEdgeResponse {
  @ApiProperty() child: { model: string; version: string };
  @ApiProperty() parent: { model: string; version: string };
  @ApiProperty() relation: string;
}

export class LineageDatasetResponse extends VersionDatasetResponse {
  @ApiProperty() usedBy: { model: string; version: string };
}

export class LineageResponse {
  @ApiProperty() root: { model: string; version: string };
  @ApiProperty({ enum: ['up', 'down', 'both'] }) direction: 'up' | 'down' | 'both';
  @ApiProperty() depth: number;
  @ApiProperty({ type: [LineageNodeResponse] }) nodes: LineageNodeResponse[];
  @ApiProperty({ type: [LineageEdgeResponse] }) edges: LineageEdgeResponse[];
  @ApiProperty({ type: [LineageDatasetResponse] }) datasets: LineageDatasetResponse[];
}

export class FileVerificationResponse {
  @ApiProperty() path: string;
  @ApiProperty() sha256: string;
  @ApiProperty() size: number;
  @ApiProperty({ enum: ['ok', 'corrupt', 'missing'] }) status: 'ok' | 'corrupt' | 'missing';
  @ApiPropertyOptional() actualSha256?: string;
}

export class SignatureVerificationResponse {
  @ApiProperty() present: boolean;
  @ApiProperty() ok: boolean;
  @ApiPropertyOptional() signer?: string;
  @ApiPropertyOptional() reason?: string;
  @ApiPropertyOptional() message?: string;
}

export class VersionVerificationResponse {
  @ApiProperty() ok: boolean;
  @ApiProperty({ type: [FileVerificationResponse] }) files: FileVerificationResponse[];
  @ApiProperty({ type: SignatureVerificationResponse }) signature: SignatureVerificationResponse;
}

export class UploadedFileResponse {
  @ApiProperty() path: string;
  @ApiProperty() sha256: string;
  @ApiProperty() size: number;
}
