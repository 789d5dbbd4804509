import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { SERVING_STAGES, type ServingStage } from '@gatehouse/catalog';

export class RequestPromotionDto {
  @ApiProperty({ enum: SERVING_STAGES })
  @IsIn(SERVING_STAGES)
  stage: ServingStage;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, description: 'Canary only (required there): the share of request keys it serves' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  trafficPercent?: number;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class DecideDto {
  @ApiProperty({ enum: ['approve', 'reject'] })
  @IsIn(['approve', 'reject'])
  decision: 'approve' | 'reject';

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export class RollbackDto {
  @ApiPropertyOptional({ enum: ['production', 'canary'], default: 'production', description: 'production goes back a version; canary aborts the canary' })
  @IsOptional()
  @IsIn(['production', 'canary'])
  stage?: 'production' | 'canary';

  @ApiPropertyOptional({ description: 'A version that has served in production (default: the one that served before the current one)' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  toVersion?: string;

  @ApiProperty({ maxLength: 2000 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  reason: string;
}

export class ResolveQuery {
  @ApiPropertyOptional({ description: 'A stable request key (user id, session id): the same key keeps its version while the canary percent is unchanged' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  key?: string;
}

export class DecisionResponse {
  @ApiProperty() actor: string;
  @ApiProperty({ enum: ['approve', 'reject'] }) decision: 'approve' | 'reject';
  @ApiProperty({ nullable: true, type: String }) comment: string | null;
  @ApiProperty() decidedAt: string;
}

export class PromotionLinks {
  @ApiProperty() self: string;
  @ApiProperty({ nullable: true, type: String }) gateRun: string | null;
  @ApiProperty({ nullable: true, type: String }) gateReport: string | null;
}

export class PromotionResponse {
  @ApiProperty() id: string;
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: SERVING_STAGES }) stage: ServingStage;
  @ApiProperty({ nullable: true, type: Number }) trafficPercent: number | null;
  @ApiProperty({ nullable: true, type: String }) reason: string | null;
  @ApiProperty({ enum: ['queued', 'gating', 'awaiting_approval', 'completed', 'rejected'], description: 'queued until its gate run starts' })
  status: 'queued' | 'gating' | 'awaiting_approval' | 'completed' | 'rejected';
  @ApiProperty() requestedBy: string;
  @ApiProperty() requiredApprovals: number;
  @ApiProperty({ type: [String], description: "The roles whose tokens may approve or reject it: the policy's approvers for the stage when it was requested" })
  approverRoles: string[];
  @ApiProperty({ type: [DecisionResponse] }) decisions: DecisionResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'The gate run the request waits on, or was decided on' }) gateRunId: string | null;
  @ApiProperty({ type: [String], description: 'Every gate run of the request, oldest first: more than one when a stale gate was re-run' }) gateRuns: string[];
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, description: 'Why it was rejected: code, message, failedChecks' })
  outcome: { code: string; message: string; failedChecks?: string[] } | null;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty({ nullable: true, type: String }) completedAt: string | null;
  @ApiProperty({ type: PromotionLinks }) links: PromotionLinks;
}

export class PromotionList {
  @ApiProperty({ type: [PromotionResponse] }) items: PromotionResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' }) nextCursor: string | null;
}

export class RollbackResponse {
  @ApiProperty() model: string;
  @ApiProperty({ enum: ['production', 'canary'] }) stage: 'production' | 'canary';
  @ApiProperty({ description: 'The version taken out; now rolled_back' }) rolledBack: string;
  @ApiProperty({ nullable: true, type: String, description: 'The version now in production (null for an aborted canary)' }) restored: string | null;
}

export class ResolveResponse {
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: ['canary', 'production'] }) stage: 'canary' | 'production';
  @ApiProperty({ nullable: true, type: Number }) trafficPercent: number | null;
}
