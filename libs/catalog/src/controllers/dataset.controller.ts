import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiBinaryBody, ApiBinaryResponse, ApiErrors } from '@gatehouse/openapi';
import { CreateDatasetDto, DatasetPage, DatasetResponse, ListDatasetsQuery } from '../dto/dataset.dto';
import { DatasetService } from '../services/dataset.service';
import { sendFile, uploadDeclaration } from './file-transfer';

@ApiTags('datasets')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/datasets')
export class DatasetController {
  constructor(private readonly datasets: DatasetService) {}

  @Post()
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Register a dataset version: checksum and/or URI, or upload its file next' })
  @ApiCreatedResponse({ type: DatasetResponse })
  @ApiErrors(400, 403, 409, 413, 415)
  create(@CurrentPrincipal() actor: Principal, @Body() body: CreateDatasetDto): Promise<DatasetResponse> {
    return this.datasets.create(actor, body);
  }

  @Get()
  @ApiOperation({ summary: 'List dataset versions by name then version, keyset-paginated; search matches name or description' })
  @ApiOkResponse({ type: DatasetPage })
  @ApiErrors(400)
  list(@Query() query: ListDatasetsQuery): Promise<DatasetPage> {
    return this.datasets.list(query);
  }

  @Get(':name/:version')
  @ApiOperation({ summary: 'Get a dataset version' })
  @ApiOkResponse({ type: DatasetResponse })
  @ApiErrors(404)
  get(@Param('name') name: string, @Param('version') version: string): Promise<DatasetResponse> {
    return this.datasets.get(name, version);
  }

  @Delete(':name/:version')
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Delete a dataset version no model version names (409 naming those that do); its bytes go with the next blob collection' })
  @ApiOkResponse({ type: DatasetResponse })
  @ApiErrors(403, 404, 409)
  delete(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string): Promise<DatasetResponse> {
    return this.datasets.delete(actor, name, version);
  }

  @Put(':name/:version/file')
  @HttpCode(201)
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: "Upload the dataset's file once; it must match a declared sha256" })
  @ApiHeader({ name: 'x-content-sha256', required: false })
  @ApiBinaryBody("The file's bytes, as they are")
  @ApiCreatedResponse({ type: DatasetResponse })
  @ApiErrors(400, 403, 404, 409, 413)
  upload(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Req() request: Request): Promise<DatasetResponse> {
    return this.datasets.upload(actor, name, version, request, uploadDeclaration(request));
  }

  @Get(':name/:version/file')
  @ApiOperation({ summary: "Download the dataset's file, integrity-checked" })
  @ApiBinaryResponse('The file, hashed again while it streams')
  @ApiErrors(404)
  async download(@Param('name') name: string, @Param('version') version: string, @Res() response: Response): Promise<void> {
    await sendFile(response, await this.datasets.openFile(name, version));
  }
}
