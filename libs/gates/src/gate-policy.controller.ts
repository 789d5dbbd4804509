import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@gatehouse/openapi';
import { GatePolicyQuery, GatePolicyResponse } from './dto/gate-policy.dto';
import { GatePolicyService } from './gate-policy.service';

@ApiTags('gates')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/gate-policy')
export class GatePolicyController {
  constructor(private readonly gatePolicy: GatePolicyService) {}

  @Get()
  @ApiOperation({
    summary:
      "The gate policy in force: each stage's checks, in the order a gate runs them, with severities and thresholds resolved for one task and extends applied (before any model's scan allowances)",
  })
  @ApiOkResponse({ type: GatePolicyResponse })
  @ApiErrors(400, 404)
  show(@Query() query: GatePolicyQuery): GatePolicyResponse {
    return this.gatePolicy.show(query);
  }
}
