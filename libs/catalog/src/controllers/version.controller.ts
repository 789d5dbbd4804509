import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiBinaryBody, ApiBinaryResponse, ApiErrors } from '@gatehouse/openapi';
import {
  AbandonedVersionResponse,
  DeclaredVersionResponse,
  LineageResponse,
  UploadedFileResponse,
  VersionPage,
  VersionResponse,
  VersionVerificationResponse,
} from '../dto/version-response.dto';
import { CommitVersionDto, DeclareVersionDto, LineageQuery, ListVersionsQuery, SetVersionTagDto, UpdateVersionDto } from '../dto/version.dto';
import { SignVersionDto } from '../dto/version-signature.dto';
import { LineageService } from '../services/lineage.service';
import { VersionMetadataService } from '../services/version-metadata.service';
import { VersionService } from '../services/version.service';
import { VersionSigningService } from '../services/version-signing.service';
import { rawFilePath, sendFile, uploadDeclaration } from './file-transfer';

@ApiTags('versions')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/models/:name/versions')
export class VersionController {
  constructor(
    private readonly versions: VersionService,
    private readonly lineage: LineageService,
    private readonly signing: VersionSigningService,
    private readonly metadata: VersionMetadataService,
  ) {}

  @Post()
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Declare a version (step 1 of 3): metadata, lineage, datasets; status pending_upload' })
  @ApiCreatedResponse({ type: DeclaredVersionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  declare(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Body() body: DeclareVersionDto): Promise<DeclaredVersionResponse> {
    return this.versions.declare(actor, name, body);
  }

  @Get()
  @ApiOperation({ summary: 'List versions, newest first, keyset-paginated' })
  @ApiOkResponse({ type: VersionPage })
  @ApiErrors(400, 404)
  list(@Param('name') name: string, @Query() query: ListVersionsQuery): Promise<VersionPage> {
    return this.versions.list(name, query);
  }

  @Get(':version')
  @ApiOperation({ summary: 'Get a version: status, stage, manifest, lineage fields' })
  @ApiOkResponse({ type: VersionResponse })
  @ApiErrors(404)
  get(@Param('name') name: string, @Param('version') version: string): Promise<VersionResponse> {
    return this.versions.get(name, version);
  }

  @Patch(':version')
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: "Change a version's description or tags (tags merged: null removes a key); each change is audited. 409 naming any other field" })
  @ApiOkResponse({ type: VersionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  update(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Body() body: UpdateVersionDto): Promise<VersionResponse> {
    return this.metadata.update(actor, name, version, body);
  }

  @Delete(':version')
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Abandon a version still pending upload, with its files (409 for a committed version); audited' })
  @ApiOkResponse({ type: AbandonedVersionResponse })
  @ApiErrors(403, 404, 409)
  abandon(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string): Promise<AbandonedVersionResponse> {
    return this.versions.abandon(actor, name, version);
  }

  @Put(':version/tags/:key')
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Set one tag of a version, audited with the value it replaced' })
  @ApiOkResponse({ type: VersionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  setTag(
    @CurrentPrincipal() actor: Principal,
    @Param('name') name: string,
    @Param('version') version: string,
    @Param('key') key: string,
    @Body() body: SetVersionTagDto,
  ): Promise<VersionResponse> {
    return this.metadata.setTag(actor, name, version, key, body.value);
  }

  @Delete(':version/tags/:key')
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Remove one tag of a version (404 if it has none by that key), audited' })
  @ApiOkResponse({ type: VersionResponse })
  @ApiErrors(403, 404)
  deleteTag(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Param('key') key: string): Promise<VersionResponse> {
    return this.metadata.deleteTag(actor, name, version, key);
  }

  @Put(':version/files/*path')
  @HttpCode(201)
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Stream one file (step 2 of 3); hashed on the way in' })
  @ApiHeader({ name: 'x-content-sha256', required: false, description: 'Hex SHA-256 of the body; a mismatch is a 400 and nothing is kept' })
  @ApiBinaryBody("The file's bytes, as they are")
  @ApiCreatedResponse({ type: UploadedFileResponse })
  @ApiErrors(400, 403, 404, 409, 413)
  upload(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Req() request: Request): Promise<UploadedFileResponse> {
    return this.versions.upload(actor, name, version, rawFilePath(request), request, uploadDeclaration(request));
  }

  @Post(':version/commit')
  @HttpCode(200)
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Seal the manifest (step 3 of 3); the version becomes immutable' })
  @ApiOkResponse({ type: VersionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415, 422)
  commit(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Body() body: CommitVersionDto): Promise<VersionResponse> {
    return this.versions.commit(actor, name, version, body.signature);
  }

  @Post(':version/signature')
  @HttpCode(201)
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Sign a committed version afterwards: the bundle must cover exactly its sealed files; 409 if it already carries a signature that holds' })
  @ApiCreatedResponse({ type: VersionResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415, 422)
  sign(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('version') version: string, @Body() body: SignVersionDto): Promise<VersionResponse> {
    return this.signing.sign(actor, name, version, body.signature);
  }

  @Post(':version/verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Re-hash every stored file and re-verify the signature against current trust' })
  @ApiOkResponse({ type: VersionVerificationResponse })
  @ApiErrors(404)
  verify(@Param('name') name: string, @Param('version') version: string): Promise<VersionVerificationResponse> {
    return this.versions.verify(name, version);
  }

  @Get(':version/files/*path')
  @ApiOperation({ summary: 'Download a file, integrity-checked while streaming' })
  @ApiBinaryResponse('The file, hashed again while it streams')
  @ApiErrors(404)
  async download(
    @CurrentPrincipal() actor: Principal,
    @Param('name') name: string,
    @Param('version') version: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await sendFile(response, await this.versions.openFile(actor, name, version, rawFilePath(request)));
  }

  @Get(':version/lineage')
  @ApiOperation({ summary: 'Lineage graph: ancestors and/or descendants with edges and datasets' })
  @ApiOkResponse({ type: LineageResponse })
  @ApiErrors(400, 404)
  lineageOf(@Param('name') name: string, @Param('version') version: string, @Query() query: LineageQuery): Promise<LineageResponse> {
    return this.lineage.lineage(name, version, query.direction, query.depth);
  }
}
