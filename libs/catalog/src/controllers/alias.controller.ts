import { Body, Controller, Delete, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { AliasList, AliasResponse, SetAliasDto } from '../dto/alias.dto';
import { AliasService } from '../services/alias.service';

/** Who may move which alias is the alias policy's to say (the service checks it); any role that might is let through here. */
@ApiTags('aliases')
@ApiBearerAuth()
@Controller('v1/models/:name/aliases')
export class AliasController {
  constructor(private readonly aliases: AliasService) {}

  @Get()
  @ApiOperation({ summary: "A model's aliases and the versions they point at" })
  list(@Param('name') name: string): Promise<AliasList> {
    return this.aliases.list(name);
  }

  @Get(':alias')
  @ApiOperation({ summary: 'Where one alias points' })
  get(@Param('name') name: string, @Param('alias') alias: string): Promise<AliasResponse> {
    return this.aliases.get(name, alias);
  }

  @Put(':alias')
  @Allow('ml_engineer', 'data_scientist', 'approver')
  @ApiOperation({ summary: 'Point an alias at a committed version, creating or moving it atomically; audited. Aliases are labels: they never bypass gates' })
  set(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('alias') alias: string, @Body() body: SetAliasDto): Promise<AliasResponse> {
    return this.aliases.set(actor, name, alias, body.version);
  }

  @Delete(':alias')
  @Allow('ml_engineer', 'data_scientist', 'approver')
  @ApiOperation({ summary: 'Remove an alias (404 if the model has none by that name); audited' })
  remove(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Param('alias') alias: string): Promise<AliasResponse> {
    return this.aliases.remove(actor, name, alias);
  }
}
