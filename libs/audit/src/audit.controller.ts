import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DomainError } from '@gatehouse/errors';
import { AuditLog } from './audit-log';
import { AuditRepository } from './audit.repository';
import { AuditPage, ChainVerificationResponse, ListAuditQuery } from './dto/audit.dto';

const DEFAULT_PAGE_SIZE = 100;

/** Any valid token may read the audit log (the global guard still requires one). */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly events: AuditRepository,
    private readonly log: AuditLog,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Audit events, newest first, filtered and keyset-paginated' })
  async list(@Query() query: ListAuditQuery): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.events.list({ ...query, beforeSeq: parseCursor(query.cursor), limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      items: page.map((event) => ({ ...event, occurredAt: event.occurredAt.toISOString() })),
      nextCursor: rows.length > limit ? String(page[page.length - 1].seq) : null,
    };
  }

  @Get('verify')
  @ApiOperation({ summary: 'Recompute the hash chain; names the first broken seq' })
  verify(): Promise<ChainVerificationResponse> {
    return this.log.verify();
  }
}

function parseCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(cursor)) {
    throw new DomainError('invalid', 'invalid_cursor', 'cursor must be a nextCursor value from a previous page');
  }
  return Number(cursor);
}
