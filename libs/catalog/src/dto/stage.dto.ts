import { ApiProperty } from '@nestjs/swagger';
import { SERVING_STAGES, STAGE_ACTIONS, type ServingStage, type StageAction } from '../catalog.types';

export class StageEventResponse {
  @ApiProperty() seq: number;
  @ApiProperty() version: string;
  @ApiProperty({ enum: SERVING_STAGES }) stage: ServingStage;
  @ApiProperty({ enum: STAGE_ACTIONS }) action: StageAction;
  @ApiProperty({ description: 'Who made the move: the requester of a promotion, or whoever rolled back' }) actor: string;
  @ApiProperty({ type: [String] }) approvers: string[];
  @ApiProperty({ nullable: true, type: String }) promotionId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The gate report the move was made on' }) gateRunId: string | null;
  @ApiProperty({ nullable: true, type: String }) reason: string | null;
  @ApiProperty() at: string;
}

export class StageHistoryResponse {
  @ApiProperty() model: string;
  @ApiProperty({ type: [StageEventResponse] }) items: StageEventResponse[];
}
