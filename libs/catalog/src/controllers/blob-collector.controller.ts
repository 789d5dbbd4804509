import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { CollectBlobsDto, CollectionReportResponse } from '../dto/blob-collector.dto';
import { BlobCollector } from '../services/blob-collector.service';

@ApiTags('admin')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/admin/gc')
export class BlobCollectorController {
  constructor(private readonly collector: BlobCollector) {}

  @Post()
  @HttpCode(200)
  @Allow('admin')
  @ApiOperation({ summary: 'Collect unreferenced blobs older than the grace period (GC_GRACE_MINUTES) and stale temporary uploads, now; dryRun reports only' })
  @ApiOkResponse({ type: CollectionReportResponse })
  @ApiErrors(400, 403, 413, 415)
  collect(@Body() body: CollectBlobsDto): Promise<CollectionReportResponse> {
    return this.collector.collect({ dryRun: body.dryRun ?? false });
  }
}
