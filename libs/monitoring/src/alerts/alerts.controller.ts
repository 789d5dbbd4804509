import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@gatehouse/openapi';
import { AlertList, AlertResponse, ListAlertsQuery } from '../dto/alert.dto';
import { AlertService } from './alert.service';

@ApiTags('monitoring')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertService) {}

  @Get()
  @ApiOperation({ summary: 'Alerts raised on production versions, newest first, keyset-paginated: firing ones until their rule clears' })
  @ApiOkResponse({ type: AlertList })
  @ApiErrors(400, 404)
  list(@Query() query: ListAlertsQuery): Promise<AlertList> {
    return this.alerts.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One alert' })
  @ApiOkResponse({ type: AlertResponse })
  @ApiErrors(404)
  get(@Param('id') id: string): Promise<AlertResponse> {
    return this.alerts.get(id);
  }
}
