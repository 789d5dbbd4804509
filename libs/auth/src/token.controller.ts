import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@gatehouse/openapi';
import { Allow, CurrentPrincipal } from './decorators';
import { CreateTokenDto, CreatedTokenResponse, PrincipalResponse, TokenResponse } from './dto/token.dto';
import type { Principal } from './roles';
import { TokenService } from './token.service';

@ApiTags('tokens')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/tokens')
export class TokenController {
  constructor(private readonly tokens: TokenService) {}

  @Post()
  @Allow('admin')
  @ApiOperation({ summary: 'Mint an API token; the secret is returned once' })
  @ApiCreatedResponse({ type: CreatedTokenResponse })
  @ApiErrors(400, 403, 409, 413, 415)
  create(@CurrentPrincipal() actor: Principal, @Body() body: CreateTokenDto): Promise<CreatedTokenResponse> {
    return this.tokens.mint(actor, body);
  }

  @Get()
  @Allow('admin')
  @ApiOperation({ summary: 'List API tokens (never their secrets)' })
  @ApiOkResponse({ type: [TokenResponse] })
  @ApiErrors(403)
  list(): Promise<TokenResponse[]> {
    return this.tokens.list();
  }

  @Get('current')
  @ApiOperation({ summary: 'The token making this request: its name and roles' })
  @ApiOkResponse({ type: PrincipalResponse })
  current(@CurrentPrincipal() principal: Principal): PrincipalResponse {
    return { id: principal.tokenId, name: principal.name, roles: principal.roles };
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @Allow('admin')
  @ApiOperation({ summary: 'Revoke an API token' })
  @ApiOkResponse({ type: TokenResponse })
  @ApiErrors(400, 403, 404)
  revoke(@CurrentPrincipal() actor: Principal, @Param('id', new ParseUUIDPipe()) id: string): Promise<TokenResponse> {
    return this.tokens.revoke(actor, id);
  }
}
