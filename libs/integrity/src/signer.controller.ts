import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { CreateSignerDto, SignerResponse } from './dto/signer.dto';
import { SignerService } from './signer.service';

@ApiTags('signers')
@ApiBearerAuth()
@ApiErrors(401, 403, 503)
@Controller('v1/signers')
export class SignerController {
  constructor(private readonly signers: SignerService) {}

  @Post()
  @Allow('admin')
  @ApiOperation({ summary: 'Trust a public key for model signatures' })
  @ApiCreatedResponse({ type: SignerResponse })
  @ApiErrors(400, 409, 413, 415)
  add(@CurrentPrincipal() actor: Principal, @Body() body: CreateSignerDto): Promise<SignerResponse> {
    return this.signers.add(actor, body);
  }

  @Get()
  @Allow('admin')
  @ApiOperation({ summary: 'List trusted signers' })
  @ApiOkResponse({ type: [SignerResponse] })
  list(): Promise<SignerResponse[]> {
    return this.signers.list();
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Allow('admin')
  @ApiOperation({ summary: 'Revoke a signer: its signatures are rejected from now on' })
  @ApiOkResponse({ type: SignerResponse })
  @ApiErrors(400, 404)
  revoke(@CurrentPrincipal() actor: Principal, @Param('id', new ParseUUIDPipe()) id: string): Promise<SignerResponse> {
    return this.signers.revoke(actor, id);
  }
}
