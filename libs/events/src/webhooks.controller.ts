import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { CreateWebhookDto, DeliveriesQuery, UpdateWebhookDto, WebhookDeliveryList, WebhookDeliveryResponse, WebhookResponse, WebhookTestResponse } from './dto/webhook.dto';
import { WebhookService } from './webhook.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiErrors(401, 403, 503)
@Controller('v1')
export class WebhooksController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post('webhooks')
  @Allow('admin')
  @ApiOperation({ summary: 'Subscribe a URL to lifecycle events, delivered signed with the secret (never answered again)' })
  @ApiCreatedResponse({ type: WebhookResponse })
  @ApiErrors(400, 413, 415)
  create(@CurrentPrincipal() actor: Principal, @Body() body: CreateWebhookDto): Promise<WebhookResponse> {
    return this.webhooks.create(actor, body);
  }

  @Get('webhooks')
  @Allow('admin')
  @ApiOperation({ summary: 'Webhook subscriptions, oldest first (never their secrets)' })
  @ApiOkResponse({ type: [WebhookResponse] })
  list(): Promise<WebhookResponse[]> {
    return this.webhooks.list();
  }

  @Get('webhooks/:id')
  @Allow('admin')
  @ApiOperation({ summary: 'A webhook subscription' })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiErrors(400, 404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookResponse> {
    return this.webhooks.get(id);
  }

  @Patch('webhooks/:id')
  @Allow('admin')
  @ApiOperation({ summary: 'Change its URL, events, secret, description, or pause it (active: false)' })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiErrors(400, 404, 413, 415)
  update(@CurrentPrincipal() actor: Principal, @Param('id', new ParseUUIDPipe()) id: string, @Body() body: UpdateWebhookDto): Promise<WebhookResponse> {
    return this.webhooks.update(actor, id, body);
  }

  @Delete('webhooks/:id')
  @Allow('admin')
  @ApiOperation({ summary: 'Delete a subscription and its delivery history; answers the subscription as it was' })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiErrors(400, 404)
  remove(@CurrentPrincipal() actor: Principal, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookResponse> {
    return this.webhooks.remove(actor, id);
  }

  @Get('webhooks/:id/deliveries')
  @Allow('admin')
  @ApiOperation({ summary: "A subscription's deliveries with every attempt, newest first, keyset-paginated; status=dead lists its dead letters" })
  @ApiOkResponse({ type: WebhookDeliveryList })
  @ApiErrors(400, 404)
  deliveries(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: DeliveriesQuery): Promise<WebhookDeliveryList> {
    return this.webhooks.deliveries(id, query);
  }

  @Post('webhooks/:id/test')
  @HttpCode(200)
  @Allow('admin')
  @ApiOperation({ summary: 'Send a webhook.test event to this subscription now and answer with the attempt' })
  @ApiOkResponse({ type: WebhookTestResponse })
  @ApiErrors(400, 404)
  test(@CurrentPrincipal() actor: Principal, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookTestResponse> {
    return this.webhooks.test(actor, id);
  }

  @Post('webhook-deliveries/:id/replay')
  @HttpCode(200)
  @Allow('admin')
  @ApiOperation({ summary: 'Send a dead or delivered delivery again now, with a fresh count of attempts' })
  @ApiOkResponse({ type: WebhookDeliveryResponse })
  @ApiErrors(400, 404, 409)
  replay(@CurrentPrincipal() actor: Principal, @Param('id', new ParseUUIDPipe()) id: string): Promise<WebhookDeliveryResponse> {
    return this.webhooks.replay(actor, id);
  }
}
