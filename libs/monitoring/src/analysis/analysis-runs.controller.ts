import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { AbortAnalysisDto, AnalysisRunList, AnalysisRunListQuery, AnalysisRunResponse } from '../dto/analysis.dto';
import { AnalysisService } from './analysis.service';

@ApiTags('monitoring')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1')
export class AnalysisRunsController {
  constructor(private readonly analysis: AnalysisService) {}

  @Get('models/:name/analysis-runs')
  @ApiOperation({ summary: "A model's canary analyses, newest first, keyset-paginated; ?version= keeps one version's" })
  @ApiOkResponse({ type: AnalysisRunList })
  @ApiErrors(400, 404)
  list(@Param('name') name: string, @Query() query: AnalysisRunListQuery): Promise<AnalysisRunList> {
    return this.analysis.list(name, query);
  }

  @Post('models/:name/analysis-runs')
  @HttpCode(201)
  @Allow('ml_engineer')
  @ApiOperation({
    summary: "Analyse the model's canary again, against the version in production now: after its analysis was cancelled, or passed against a production since replaced",
  })
  @ApiCreatedResponse({ type: AnalysisRunResponse })
  @ApiErrors(403, 404, 409)
  startAgain(@CurrentPrincipal() actor: Principal, @Param('name') name: string): Promise<AnalysisRunResponse> {
    return this.analysis.startAgain(actor, name);
  }

  @Get('analysis-runs/:id')
  @ApiOperation({ summary: 'One canary analysis with every judged interval: each metric, canary against production, and what the schedule did' })
  @ApiOkResponse({ type: AnalysisRunResponse })
  @ApiErrors(404)
  get(@Param('id') id: string): Promise<AnalysisRunResponse> {
    return this.analysis.get(id);
  }

  @Post('analysis-runs/:id/resume')
  @HttpCode(200)
  @Allow('ml_engineer')
  @ApiOperation({ summary: 'Resume a paused analysis where it was' })
  @ApiOkResponse({ type: AnalysisRunResponse })
  @ApiErrors(403, 404, 409)
  resume(@CurrentPrincipal() actor: Principal, @Param('id') id: string): Promise<AnalysisRunResponse> {
    return this.analysis.resume(actor, id);
  }

  @Post('analysis-runs/:id/abort')
  @HttpCode(200)
  @Allow('ml_engineer')
  @ApiOperation({ summary: 'Stop a running or paused analysis and abort its canary' })
  @ApiOkResponse({ type: AnalysisRunResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  abort(@CurrentPrincipal() actor: Principal, @Param('id') id: string, @Body() body: AbortAnalysisDto): Promise<AnalysisRunResponse> {
    return this.analysis.abort(actor, id, body.reason);
  }
}
