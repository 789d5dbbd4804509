import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@gatehouse/openapi';
import { AuditLog } from './audit-log';
import { AuditPage, ChainVerificationResponse, ListAuditQuery } from './dto/audit.dto';

/** Any valid token may read the audit log (the global guard still requires one). */
@ApiTags('audit')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly log: AuditLog) {}

  @Get()
  @ApiOperation({ summary: 'Audit events, newest first, filtered and keyset-paginated' })
  @ApiOkResponse({ type: AuditPage })
  @ApiErrors(400)
  list(@Query() query: ListAuditQuery): Promise<AuditPage> {
    return this.log.page(query);
  }

  @Get('verify')
  @ApiOperation({ summary: 'Recompute the hash chain; names the first broken seq' })
  @ApiOkResponse({ type: ChainVerificationResponse })
  verify(): Promise<ChainVerificationResponse> {
    return this.log.verify();
  }
}
