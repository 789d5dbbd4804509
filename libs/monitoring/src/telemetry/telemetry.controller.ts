import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { LabelBatchDto, LabelReceipt, TelemetryBatchDto, TelemetryReceipt, TelemetrySummary, TelemetryWindowQuery } from '../dto/telemetry.dto';
import { TelemetryService } from './telemetry.service';

@ApiTags('monitoring')
@ApiBearerAuth()
@ApiErrors(401, 403, 503)
@Controller('v1/models/:name')
export class TelemetryController {
  constructor(private readonly telemetry: TelemetryService) {}

  // The body is `unknown` so the global pipe leaves it to parseTelemetryBatch, which checks thousands of observations fast.
  @Post('telemetry')
  @HttpCode(200)
  @Allow('reporter', 'ml_engineer')
  @ApiOperation({ summary: 'Report what serving did: a batch of observations (latency, error, prediction, features, label), kept as aggregates per version and window' })
  @ApiBody({ type: TelemetryBatchDto })
  @ApiOkResponse({ type: TelemetryReceipt })
  @ApiErrors(400, 404, 413, 415)
  report(@Param('name') name: string, @Body() body: unknown): Promise<TelemetryReceipt> {
    return this.telemetry.report(name, body);
  }

  @Post('telemetry/labels')
  @HttpCode(200)
  @Allow('reporter', 'ml_engineer')
  @ApiOperation({ summary: 'Labels that arrived after their predictions, by request id: each is scored in the window its prediction was counted in' })
  @ApiBody({ type: LabelBatchDto })
  @ApiOkResponse({ type: LabelReceipt })
  @ApiErrors(400, 404, 413, 415)
  label(@Param('name') name: string, @Body() body: unknown): Promise<LabelReceipt> {
    return this.telemetry.label(name, body);
  }

  @Get('versions/:version/telemetry')
  @ApiOperation({ summary: 'What a version did over a time range (default the last hour): counts, latency quantiles, outcomes, drift against its training data' })
  @ApiOkResponse({ type: TelemetrySummary })
  @ApiErrors(400, 404)
  summary(@Param('name') name: string, @Param('version') version: string, @Query() query: TelemetryWindowQuery): Promise<TelemetrySummary> {
    return this.telemetry.summary(name, version, query);
  }
}
