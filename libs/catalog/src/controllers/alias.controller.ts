import { Body, Controller, Delete, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { AliasList, AliasResponse, SetAliasDto } from '../dto/alias.dto';
import { AliasService } from '../services/alias.service';

/** Who may move which alias is the alias policy's to say (the service checks it); any role that might is let through here. */
@ApiTags('aliases')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/models/:name/aliases')
export class AliasController {
  constructor(private readonly aliases: AliasService) {}

  @Get()
  @ApiOperation({ summary: "A model's aliases and the versions they point at" })
  @ApiOkResponse({ type: AliasList })
  @ApiErrors(404)
  list(@Param('name') name: string): Promise<AliasList> {
    return this.aliases.list(name);
  }

  @Get(':alias')
  @ApiOperation({ summary: 'Where one alias points' })
  @ApiOkResponse({ type: AliasResponse })
  @ApiErrors(404)
  get(@Param('name') name: string, @Param('alias') alias: string): Promise<AliasResponse> {
    return this.aliases.get(name, alias);
  }

  @Put(':alias')
  @Allow('ml_engineer', 'data_scientist', 'approver')
  @ApiOperation({ summary: 'Point an alias at a committed version, creating or moving it atomically; audited. Aliases are labels: they never bypass gates' })
  @ApiOkResponse({ type: AliasResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  set(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('alias') alias: string, @Body() body: SetAliasDto): Promise<AliasResponse> {
    return this.aliases.set(actor, name, alias, body.version);
  }

  @Delete(':alias')
  @Allow('ml_engineer', 'data_scientist', 'approver')
  @ApiOperation({ summary: 'Remove an alias (404 if the model has none by that name); audited' })
  @ApiOkResponse({ type: AliasResponse })
  @ApiErrors(403, 404)
  remove(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('alias') alias: string): Promise<AliasResponse> {
    return this.aliases.remove(actor, name, alias);
  }
}
