import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import type { RescanReason } from '../scan-verdict';

export class RequestRescanDto {
  @ApiPropertyOptional({ default: false, description: 'Re-scan every version that serves or is validated, not only those whose verdict predates the scanner or policy in force' })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}

export class RescanLinks {
  @ApiProperty() gateRun: string;
}

export class RescanQueuedResponse {
  @ApiProperty() gateRunId: string;
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ description: 'Where the version serves now (none: validated, serving nowhere)' }) stage: string;
  @ApiProperty({ enum: ['never_scanned', 'scanner_changed', 'policy_changed', 'requested'] }) reason: RescanReason | 'requested';
  @ApiProperty({ type: RescanLinks }) links: RescanLinks;
}

export class RescanAlreadyQueuedResponse {
  @ApiProperty({ description: 'The re-scan already queued or running, which this request did not duplicate' }) gateRunId: string;
  @ApiProperty() model: string;
  @ApiProperty() version: string;
}

export class RescanResponse {
  @ApiProperty({ description: 'The scanner version the re-scans record' }) scannerVersion: string;
  @ApiProperty({ type: [RescanQueuedResponse] }) queued: RescanQueuedResponse[];
  @ApiProperty({ type: [RescanAlreadyQueuedResponse] }) alreadyQueued: RescanAlreadyQueuedResponse[];
  @ApiProperty({ type: [String], description: 'model@version of versions no stage policy scans, which cannot be re-scanned' }) unscannable: string[];
}
