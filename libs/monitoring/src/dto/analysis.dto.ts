import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { RecentPageQuery } from '@gatehouse/openapi';

export class AnalysisRunListQuery extends RecentPageQuery {
  @ApiPropertyOptional({ description: "Only this version's analyses (as a canary)", maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  version?: string;
}

export class AbortAnalysisDto {
  @ApiProperty({ maxLength: 2000 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  reason: string;
}

export class JudgedIntervalResponse {
  @ApiProperty() number: number;
  @ApiProperty({ description: 'Index of the traffic step it was judged in' }) step: number;
  @ApiProperty() trafficPercent: number;
  @ApiProperty({ format: 'date-time' }) windowStart: string;
  @ApiProperty({ format: 'date-time' }) windowEnd: string;
  @ApiProperty({ enum: ['pass', 'fail', 'inconclusive'] }) verdict: 'pass' | 'fail' | 'inconclusive';
  @ApiProperty({ type: String, nullable: true, description: 'Why it could not be judged (its metric source did not answer); null when it was' }) problem: string | null;
  @ApiProperty({ enum: ['none', 'next_step', 'rollback', 'pause', 'passed'], description: 'What the schedule did after it' }) action: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    description:
      'Each metric (latency, error_rate, prediction_drift, input_drift, accuracy): verdict, reason, canary and production values, statistic, p-value, effect, threshold, samples',
  })
  metrics: unknown[];
}

export class AnalysisRunResponse {
  @ApiProperty() id: string;
  @ApiProperty() model: string;
  @ApiProperty({ description: 'The canary' }) version: string;
  @ApiProperty({ description: 'Production when the canary started: what it is compared with' }) baselineVersion: string;
  @ApiProperty({ enum: ['running', 'paused', 'passed', 'rolled_back', 'aborted', 'cancelled'] }) status: string;
  @ApiProperty({ description: 'Index into steps' }) step: number;
  @ApiProperty({ type: [Number] }) steps: number[];
  @ApiProperty() trafficPercent: number;
  @ApiProperty({ description: 'Passed intervals in the current step' }) passedInStep: number;
  @ApiProperty({ description: 'Intervals judged so far' }) intervals: number;
  @ApiProperty() failures: number;
  @ApiProperty() inconclusives: number;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The policy it runs under, as it was when the canary started' }) policy: object;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'When the running interval ends' }) nextIntervalAt: string | null;
  @ApiProperty() startedBy: string;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) finishedAt: string | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: 'Why it ended' }) outcome: Record<string, unknown> | null;
  @ApiPropertyOptional({ type: [JudgedIntervalResponse], description: 'Every judged interval (GET /v1/analysis-runs/{id} only)' }) judged?: JudgedIntervalResponse[];
}

export class AnalysisRunList {
  @ApiProperty({ type: [AnalysisRunResponse] }) items: AnalysisRunResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
