import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { GATE_STAGES, TASKS, type GateSettings, type GateStage, type Task, type Severity, type Thresholds } from '@gatehouse/gate-engine';

/** `?stage=&task=`: one stage's policy or all of them, resolved for one task. */
export class GatePolicyQuery {
  @ApiPropertyOptional({ enum: GATE_STAGES, description: 'Only this stage (every stage the policy has when left out)' })
  @IsOptional()
  @IsIn(GATE_STAGES)
  stage?: GateStage;

  @ApiPropertyOptional({
    enum: TASKS,
    default: 'classification',
    description: 'The task the checks and thresholds are resolved for: some checks apply to some tasks only, and byTask thresholds differ',
  })
  @IsOptional()
  @IsIn(TASKS)
  task?: Task;
}

export class GatePolicyCheckResponse {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['critical', 'warning'], description: 'critical blocks the gate; warning only reports' }) severity: Severity;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "Every threshold the check runs with: its defaults with the policy's values over them" })
  thresholds: Thresholds;
}

export class GatePolicyStageResponse {
  @ApiProperty({ enum: GATE_STAGES }) stage: GateStage;
  @ApiProperty({ enum: GATE_STAGES, nullable: true, type: String, description: 'The stage this one extends, null when written out in full' }) extends: GateStage | null;
  @ApiProperty({ enum: TASKS }) task: Task;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Batch sizes, dimensions, seed, threads, timeout' }) settings: GateSettings;
  @ApiProperty({ type: [GatePolicyCheckResponse], description: 'The checks a gate of this stage runs, in the order it runs them, with extends applied' })
  checks: GatePolicyCheckResponse[];
}

export class GatePolicyResponse {
  @ApiProperty({ description: 'The name of the policy file in force (config/gates.json, or the file GATE_POLICY names)' }) source: string;
  @ApiProperty({ type: [GatePolicyStageResponse] }) stages: GatePolicyStageResponse[];
}
