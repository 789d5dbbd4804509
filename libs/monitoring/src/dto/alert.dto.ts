import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { RecentPageQuery } from '@gatehouse/openapi';

export class ListAlertsQuery extends RecentPageQuery {
  @ApiPropertyOptional({ description: "Only this model's alerts" })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @ApiPropertyOptional({ enum: ['firing', 'resolved'] })
  @IsOptional()
  @IsIn(['firing', 'resolved'])
  state?: 'firing' | 'resolved';
}

export class AlertResponse {
  @ApiProperty() id: string;
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ description: 'The rule, e.g. ModelLatencyHigh' }) rule: string;
  @ApiProperty({ enum: ['accuracy', 'drift', 'latency_p95', 'error_rate'] }) metric: string;
  @ApiProperty({ enum: ['warning', 'critical'] }) severity: string;
  @ApiProperty({ enum: ['firing', 'resolved'] }) state: string;
  @ApiProperty({ type: Number, nullable: true, description: 'The latest value the rule read' }) value: number | null;
  @ApiProperty({ type: Number, nullable: true }) threshold: number | null;
  @ApiProperty({ description: 'Observations behind the value' }) samples: number;
  @ApiProperty({ description: 'Evaluations it has lasted' }) evaluations: number;
  @ApiProperty({ format: 'date-time' }) raisedAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) resolvedAt: string | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: 'What its rule rolled back: immediate, gradual (to, minutes) or none (why)' })
  rollback: Record<string, unknown> | null;
}

export class AlertList {
  @ApiProperty({ type: [AlertResponse] }) items: AlertResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
