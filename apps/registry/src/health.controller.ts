import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '@gatehouse/auth';
import { DatabaseHealth } from '@gatehouse/database';
import { BLOB_STORE, type BlobStore } from '@gatehouse/storage';

class ReachabilityResponse {
  @ApiProperty() ok: boolean;
  @ApiPropertyOptional({ description: 'Why it is unreachable' }) error?: string;
}

class BlobStoreReachabilityResponse extends ReachabilityResponse {
  @ApiProperty({ enum: ['filesystem', 's3'] }) kind: string;
}

class HealthResponse {
  @ApiProperty({ enum: ['ok', 'unavailable'] }) status: 'ok' | 'unavailable';
  @ApiProperty({ type: ReachabilityResponse }) database: ReachabilityResponse;
  @ApiProperty({ type: BlobStoreReachabilityResponse }) blobStore: BlobStoreReachabilityResponse;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly database: DatabaseHealth,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Database and blob store reachability; 503 when either is down' })
  @ApiOkResponse({ type: HealthResponse })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'The database or the blob store is unreachable' })
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthResponse> {
    const [database, blobStore] = await Promise.all([this.database.check(), this.blobs.health()]);
    const ok = database.ok && blobStore.ok;
    response.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ok ? 'ok' : 'unavailable', database, blobStore: { kind: this.blobs.kind, ...blobStore } };
  }
}
