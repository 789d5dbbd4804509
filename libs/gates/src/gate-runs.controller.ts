import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors, RecentPageQuery } from '@gatehouse/openapi';
import { GateRunDetailResponse, GateRunList, RequestGateRunDto } from './dto/gate-run.dto';
import { RequestRescanDto, RescanResponse } from './dto/rescan.dto';
import { GateRunService } from './gate-run.service';
import { RescanService } from './rescan.service';

@ApiTags('gates')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1')
export class GateRunsController {
  constructor(
    private readonly gateRuns: GateRunService,
    private readonly rescans: RescanService,
  ) {}

  @Get('models/:name/versions/:version/gate-runs')
  @ApiOperation({ summary: 'Gate runs of a version, newest first, keyset-paginated' })
  @ApiOkResponse({ type: GateRunList })
  @ApiErrors(400, 404)
  list(@Param('name') name: string, @Param('version') version: string, @Query() query: RecentPageQuery): Promise<GateRunList> {
    return this.gateRuns.list(name, version, query);
  }

  @Post('models/:name/versions/:version/gate-runs')
  @HttpCode(202)
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: "Queue a stage's gate on a committed version; follow it at links.self" })
  @ApiAcceptedResponse({ type: GateRunDetailResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  request(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Body() body: RequestGateRunDto): Promise<GateRunDetailResponse> {
    return this.gateRuns.request(actor, name, version, body.stage);
  }

  @Get('gate-runs/:id')
  @ApiOperation({ summary: 'A gate run: status, attempts and, once finished, the full report' })
  @ApiOkResponse({ type: GateRunDetailResponse })
  @ApiErrors(404)
  get(@Param('id') id: string): Promise<GateRunDetailResponse> {
    return this.gateRuns.get(id);
  }

  @Get('gate-runs/:id/report.md')
  @Header('content-type', 'text/markdown; charset=utf-8')
  @ApiOperation({ summary: "A finished run's report as Markdown" })
  @ApiOkResponse({ content: { 'text/markdown': { schema: { type: 'string' } } } })
  @ApiErrors(404, 409)
  markdown(@Param('id') id: string): Promise<string> {
    return this.gateRuns.markdown(id);
  }

  @Post('admin/rescan')
  @HttpCode(202)
  @Allow('admin')
  @ApiOperation({
    summary: 'Re-scan the versions that serve or are validated whose scan verdict predates the scanner or policy in force (all of them with `all`); returns what was queued',
  })
  @ApiAcceptedResponse({ type: RescanResponse })
  @ApiErrors(400, 403, 413, 415)
  rescan(@CurrentPrincipal() actor: Principal, @Body() body: RequestRescanDto): Promise<RescanResponse> {
    return this.rescans.queue(actor.name, { all: body?.all ?? false });
  }
}
