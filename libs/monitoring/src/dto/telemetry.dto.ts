import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';

// The batch DTOs document the wire format; parseTelemetryBatch checks it, since a batch is too large for per-object decorators.

export class PredictionDto {
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'number' }], description: 'The predicted class (classification)' })
  class?: string | number;

  @ApiPropertyOptional({ description: 'The predicted value (regression)' })
  value?: number;

  @ApiPropertyOptional({ type: [Number], description: 'One score per class; the highest is the predicted class' })
  scores?: number[];
}

export class ObservationDto {
  @ApiProperty({ description: 'The version that served the request' })
  version: string;

  @ApiPropertyOptional({ format: 'date-time', description: "When it was served (default: the registry's clock on receipt)" })
  time?: string;

  @ApiProperty({ minimum: 0, description: 'Latency of the request in milliseconds' })
  latencyMs: number;

  @ApiPropertyOptional({ default: false, description: 'Whether the request failed' })
  error?: boolean;

  @ApiPropertyOptional({ maxLength: 200, description: 'The serving system’s request id: a label sent later with it is scored against this prediction' })
  requestId?: string;

  @ApiPropertyOptional({ type: PredictionDto, description: 'Exactly one of class, value or scores' })
  prediction?: PredictionDto;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'number' }, { type: 'array', items: { type: 'number' } }] },
    description: 'Input features by input name, as in the reference dataset: drift is measured on them',
  })
  features?: Record<string, number | number[]>;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'number' }], description: 'The true label, when known at once' })
  label?: string | number;
}

export class TelemetryBatchDto {
  @ApiProperty({ type: [ObservationDto], description: 'Up to TELEMETRY_MAX_BATCH observations; one bad one refuses the whole batch' })
  observations: ObservationDto[];
}

export class TelemetryReceipt {
  @ApiProperty() accepted: number;
  @ApiProperty({ description: 'Version windows the batch was merged into' }) windows: number;
  @ApiProperty({ description: 'Request ids whose predictions now wait for a label' }) awaitingLabels: number;
}

export class LabelDto {
  @ApiProperty() requestId: string;
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'number' }] }) label: string | number;
}

export class LabelBatchDto {
  @ApiProperty({ type: [LabelDto] })
  labels: LabelDto[];
}

export class LabelReceipt {
  @ApiProperty({ description: 'Labels whose prediction was found and scored' }) matched: number;
  @ApiProperty({ description: 'Labels with no waiting prediction (unknown id, expired, or labelled already)' }) unmatched: number;
}

export class TelemetryWindowQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'Start (default: an hour before `to`)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'End, exclusive (default: now)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class LatencySummary {
  @ApiProperty() p50: number;
  @ApiProperty() p95: number;
  @ApiProperty() p99: number;
}

export class DriftStatisticsResponse {
  @ApiProperty({ description: 'Population stability index: the drift score (warning 0.1, critical 0.3)' }) psi: number;
  @ApiProperty({ description: 'Kolmogorov–Smirnov statistic over the bins' }) ks: number;
  @ApiProperty() ksPValue: number;
  @ApiProperty({ description: 'Jensen–Shannon divergence in bits, 0 to 1' }) jensenShannon: number;
  @ApiProperty() samples: number;
}

@ApiExtraModels(DriftStatisticsResponse)
export class DriftSummary {
  @ApiProperty({ description: 'The dataset the reference profile was computed from (name@version)' }) dataset: string;
  @ApiProperty({ type: Number, nullable: true, description: "The largest feature's PSI; null until a feature has enough observations" }) score: number | null;
  @ApiProperty({ type: String, nullable: true }) worst: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { $ref: getSchemaPath(DriftStatisticsResponse) } }) features: Record<string, DriftStatisticsResponse>;
  @ApiProperty({ type: DriftStatisticsResponse, nullable: true, description: "Predictions against the reference's" }) predictions: DriftStatisticsResponse | null;
}

export class OutcomeSummary {
  @ApiProperty({ description: 'Observations with a label' }) labelled: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Share of labelled class predictions that were right (classification)' }) accuracy: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Mean squared error of labelled value predictions (regression)' }) meanSquaredError: number | null;
}

export class TelemetrySummary {
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ description: 'Windows with observations in the range' }) windows: number;
  @ApiProperty() observations: number;
  @ApiProperty() errors: number;
  @ApiProperty({ type: Number, nullable: true }) errorRate: number | null;
  @ApiProperty({ type: LatencySummary, nullable: true, description: 'Quantiles within 1% of the observed values' }) latencyMs: LatencySummary | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'Predicted class -> count' }) classes: Record<string, number>;
  @ApiProperty() outcomes: OutcomeSummary;
  @ApiProperty({ type: DriftSummary, nullable: true, description: 'Null when the version has no dataset to profile' }) drift: DriftSummary | null;
}
