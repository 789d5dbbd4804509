import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { ModelScanAllowancesResponse } from '@gatehouse/catalog';
import { ChangeScanAllowancesDto } from './dto/scan-allowances.dto';
import { ScanAllowanceService } from './scan-allowance.service';

@ApiTags('gates')
@ApiBearerAuth()
@ApiErrors(401, 404, 503)
@Controller('v1/models/:name/scan-allowances')
export class ScanAllowancesController {
  constructor(private readonly allowances: ScanAllowanceService) {}

  @Get()
  @ApiOperation({ summary: "What this model's artifact scan allows beyond the gate policy, and why" })
  @ApiOkResponse({ type: ModelScanAllowancesResponse })
  get(@Param('name') name: string): Promise<ModelScanAllowancesResponse> {
    return this.allowances.get(name);
  }

  /** Admin only: it weakens a security gate, so the registrants whose artifacts it admits cannot grant it to themselves. */
  @Put()
  @Allow('admin')
  @ApiOperation({
    summary:
      "Replace what this model's artifact scan allows beyond the gate policy (audited with the old and new lists and the reason); takes effect for gate runs queued from now, and re-scans what serves or is validated at the next start or POST /v1/admin/rescan",
  })
  @ApiOkResponse({ type: ModelScanAllowancesResponse })
  @ApiErrors(400, 403, 413, 415)
  change(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Body() body: ChangeScanAllowancesDto): Promise<ModelScanAllowancesResponse> {
    return this.allowances.change(actor, name, body);
  }
}
