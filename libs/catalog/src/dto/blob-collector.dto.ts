import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import type { CollectionReport } from '../services/blob-collector.service';

export class CollectBlobsDto {
  @ApiPropertyOptional({ default: false, description: 'Report what would be deleted, deleting nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

class ByteCountResponse {
  @ApiProperty() count: number;
  @ApiProperty() bytes: number;
}

class TemporaryCleanupResponse {
  @ApiProperty() removed: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Unfinished multipart uploads aborted; null where the backend cannot list them' }) abortedUploads: number | null;
}

export class CollectionReportResponse implements CollectionReport {
  @ApiProperty() dryRun: boolean;
  @ApiProperty() graceSeconds: number;
  @ApiProperty({ type: ByteCountResponse, description: 'Every stored blob looked at' }) scanned: ByteCountResponse;
  @ApiProperty({ type: ByteCountResponse, description: 'Unreferenced and older than the grace: deleted, or in a dry run to be' }) collected: ByteCountResponse;
  @ApiProperty({ type: ByteCountResponse, description: "Held by a version's file, a dataset or an upload's lease" }) kept: ByteCountResponse;
  @ApiProperty({ type: ByteCountResponse, description: 'Younger than the grace period' }) young: ByteCountResponse;
  @ApiProperty({ type: TemporaryCleanupResponse, nullable: true, description: 'Stale temporary uploads removed; null in a dry run' }) temporaries: TemporaryCleanupResponse | null;
  @ApiProperty() expiredLeases: number;
  @ApiProperty() startedAt: string;
  @ApiProperty() finishedAt: string;
}
