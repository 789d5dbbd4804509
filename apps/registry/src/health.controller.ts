import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '@gatehouse/auth';
import { DatabaseHealth } from '@gatehouse/database';
import { BLOB_STORE, type BlobStore } from '@gatehouse/storage';

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
  async check(@Res({ passthrough: true }) response: Response) {
    const [database, blobStore] = await Promise.all([this.database.check(), this.blobs.health()]);
    const ok = database.ok && blobStore.ok;
    response.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ok ? 'ok' : 'unavailable', database, blobStore: { kind: this.blobs.kind, ...blobStore } };
  }
}
