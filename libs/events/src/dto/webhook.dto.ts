import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsOptional, IsString, IsUrl, MaxLength, MinLength } from 'class-validator';
import { RecentPageQuery } from '@gatehouse/openapi';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../webhook.entities';

const URL_RULE = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };
const URL_MESSAGE = 'url must be an http:// or https:// URL';
const SECRET_MESSAGE = 'secret must be at least 16 characters';
const EVENTS_DESCRIPTION = 'Event names (version.committed, gate.failed, …), family prefixes (gate.*, alert.*) or * for every event';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://ci.example.com/hooks/gatehouse', description: 'Where deliveries are POSTed: http or https' })
  @IsUrl(URL_RULE, { message: URL_MESSAGE })
  @MaxLength(2000)
  url: string;

  @ApiProperty({ type: [String], example: ['version.committed', 'gate.*'], description: EVENTS_DESCRIPTION })
  @IsArray()
  @ArrayMinSize(1, { message: 'events must name at least one event (or * for all)' })
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  events: string[];

  @ApiProperty({ minLength: 16, description: 'The HMAC-SHA256 key of Gatehouse-Signature; write it down, it is never answered' })
  @IsString()
  @MinLength(16, { message: SECRET_MESSAGE })
  @MaxLength(512)
  secret: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ description: 'Where deliveries are POSTed: http or https' })
  @IsOptional()
  @IsUrl(URL_RULE, { message: URL_MESSAGE })
  @MaxLength(2000)
  url?: string;

  @ApiPropertyOptional({ type: [String], description: EVENTS_DESCRIPTION })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1, { message: 'events must name at least one event (or * for all)' })
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  events?: string[];

  @ApiPropertyOptional({ minLength: 16, description: 'A new signing key; deliveries made from now on are signed with it' })
  @IsOptional()
  @IsString()
  @MinLength(16, { message: SECRET_MESSAGE })
  @MaxLength(512)
  secret?: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ description: 'false pauses it: no new deliveries, and pending ones wait until it is active again' })
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

export class WebhookResponse {
  @ApiProperty() id: string;
  @ApiProperty() url: string;
  @ApiProperty({ type: [String] }) events: string[];
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty() active: boolean;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class DeliveriesQuery extends RecentPageQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

/** The JSON body every delivery POSTs, the same on each attempt. */
export class WebhookEventResponse {
  @ApiProperty({ description: "The event's id: the same on every delivery and retry, for de-duplication" }) id: string;
  @ApiProperty({ example: 'gate.failed' }) type: string;
  @ApiProperty() occurredAt: string;
  @ApiProperty() actor: string;
  @ApiProperty({ example: 'version:fraud@1.2.0' }) subject: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The audit event's payload" }) data: Record<string, unknown>;
  @ApiProperty({ nullable: true, type: Number, description: 'The audit event it reports (GET /v1/audit); null for webhook.test' }) auditSeq: number | null;
}

export class DeliveryAttemptResponse {
  @ApiProperty() attemptedAt: string;
  @ApiProperty() durationMs: number;
  @ApiProperty({ nullable: true, type: Number, description: "The receiver's status; null when it never answered" }) statusCode: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the attempt failed; null when it was delivered' }) error: string | null;
}

export class WebhookDeliveryResponse {
  @ApiProperty() id: string;
  @ApiProperty() webhookId: string;
  @ApiProperty({ enum: DELIVERY_STATUSES, description: 'dead: every attempt failed (a dead letter; replay sends it again)' }) status: DeliveryStatus;
  @ApiProperty({ type: [DeliveryAttemptResponse], description: 'Every attempt, oldest first' }) attempts: DeliveryAttemptResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'When it is tried next; null unless pending' }) nextAttemptAt: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) deliveredAt: string | null;
  @ApiProperty({ type: WebhookEventResponse }) event: WebhookEventResponse;
}

export class WebhookDeliveryList {
  @ApiProperty({ type: [WebhookDeliveryResponse] }) items: WebhookDeliveryResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' }) nextCursor: string | null;
}

export class WebhookTestResponse {
  @ApiProperty({ description: 'Whether the receiver answered 2xx' }) delivered: boolean;
  @ApiProperty({ type: DeliveryAttemptResponse }) attempt: DeliveryAttemptResponse;
  @ApiProperty({ type: WebhookDeliveryResponse, description: 'The test delivery, as its history shows it; not retried if it failed (replay sends it again)' })
  delivery: WebhookDeliveryResponse;
}
