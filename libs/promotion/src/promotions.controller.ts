import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors, RecentPageQuery } from '@gatehouse/openapi';
import { StageHistoryResponse, StageService } from '@gatehouse/catalog';
import { ModelStagesResponse } from './dto/stage.dto';
import { StagePointerService } from './stage-pointer.service';
import { DecideDto, PromotionList, PromotionResponse, RequestPromotionDto, ResolveQuery, ResolveResponse, RollbackDto, RollbackResponse } from './dto/promotion.dto';
import { PromotionService } from './promotion.service';
import { ServingService } from './serving.service';

@ApiTags('promotion')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1')
export class PromotionsController {
  constructor(
    private readonly promotions: PromotionService,
    private readonly serving: ServingService,
    private readonly pointers: StagePointerService,
    private readonly stages: StageService,
  ) {}

  @Post('models/:name/versions/:version/promotions')
  @HttpCode(202)
  @Allow('ml_engineer')
  @ApiOperation({ summary: 'Request promotion to staging, canary or production; its gate runs, then approvals where policy asks' })
  @ApiAcceptedResponse({ type: PromotionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  request(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Body() body: RequestPromotionDto): Promise<PromotionResponse> {
    return this.promotions.request(actor, name, version, body);
  }

  @Get('models/:name/versions/:version/promotions')
  @ApiOperation({ summary: 'Promotion requests of a version, newest first, keyset-paginated' })
  @ApiOkResponse({ type: PromotionList })
  @ApiErrors(400, 404)
  list(@Param('name') name: string, @Param('version') version: string, @Query() query: RecentPageQuery): Promise<PromotionList> {
    return this.promotions.list(name, version, query);
  }

  @Get('promotions/:id')
  @ApiOperation({ summary: 'Where a promotion request is, its decisions, and its gate report' })
  @ApiOkResponse({ type: PromotionResponse })
  @ApiErrors(404)
  get(@Param('id') id: string): Promise<PromotionResponse> {
    return this.promotions.get(id);
  }

  // No @Allow: the promotion policy says which roles may decide and the service checks them; @Allow would let every admin through.
  @Post('promotions/:id/approvals')
  @HttpCode(200)
  @ApiOperation({ summary: "Approve or reject a request awaiting approval: one decision per token, from the policy's approver roles, never the requester's own token" })
  @ApiOkResponse({ type: PromotionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  decide(@CurrentPrincipal() actor: Principal, @Param('id') id: string, @Body() body: DecideDto): Promise<PromotionResponse> {
    return this.promotions.decide(actor, id, body);
  }

  @Get('models/:name/stages')
  @ApiOperation({ summary: 'The version in staging, canary (with its traffic percent) and production' })
  @ApiOkResponse({ type: ModelStagesResponse })
  @ApiErrors(404)
  stagesOf(@Param('name') name: string): Promise<ModelStagesResponse> {
    return this.pointers.stagesOf(name);
  }

  @Get('models/:name/history')
  @ApiOperation({ summary: "Every stage move of the model's versions, newest first" })
  @ApiOkResponse({ type: StageHistoryResponse })
  @ApiErrors(404)
  history(@Param('name') name: string): Promise<StageHistoryResponse> {
    return this.stages.history(name);
  }

  @Get('models/:name/resolve')
  @ApiOperation({ summary: 'Which version serves a request key: the canary for its share of keys, production otherwise' })
  @ApiOkResponse({ type: ResolveResponse })
  @ApiErrors(400, 404)
  resolve(@Param('name') name: string, @Query() query: ResolveQuery): Promise<ResolveResponse> {
    return this.serving.resolve(name, query.key);
  }

  @Post('models/:name/rollback')
  @HttpCode(200)
  @Allow('ml_engineer')
  @ApiOperation({ summary: 'Roll production back a version (or to a named one that has served), or abort the canary' })
  @ApiOkResponse({ type: RollbackResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  rollback(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Body() body: RollbackDto): Promise<RollbackResponse> {
    return this.serving.rollback(actor, name, body);
  }
}
