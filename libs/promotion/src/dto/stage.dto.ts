import { ApiProperty } from '@nestjs/swagger';
import type { ServingStage } from '@gatehouse/catalog';

export class StageHolderResponse {
  @ApiProperty() version: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Canary only: the share of request keys it serves' }) trafficPercent: number | null;
  @ApiProperty() assignedBy: string;
  @ApiProperty() assignedAt: string;
  @ApiProperty({ nullable: true, type: String }) promotionId: string | null;
}

export class ModelStagesResponse {
  @ApiProperty() model: string;
  @ApiProperty({ description: 'The version holding each stage, or null', example: { staging: null, canary: null, production: null } })
  stages: Record<ServingStage, StageHolderResponse | null>;
}
