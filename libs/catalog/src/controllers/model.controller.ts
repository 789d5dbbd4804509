import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentPrincipal, type Principal } from '@gatehouse/auth';
import { ApiErrors } from '@gatehouse/openapi';
import { CreateModelDto, ListModelsQuery, ModelPage, ModelResponse, UpdateModelDto } from '../dto/model.dto';
import { ModelService } from '../services/model.service';

@ApiTags('models')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/models')
export class ModelController {
  constructor(private readonly models: ModelService) {}

  @Post()
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: 'Create a model (409 if the name exists)' })
  @ApiCreatedResponse({ type: ModelResponse })
  @ApiErrors(400, 403, 409, 413, 415)
  create(@CurrentPrincipal() actor: Principal, @Body() body: CreateModelDto): Promise<ModelResponse> {
    return this.models.create(actor, body);
  }

  @Get()
  @ApiOperation({ summary: 'List models by name, keyset-paginated; search matches name or description' })
  @ApiOkResponse({ type: ModelPage })
  @ApiErrors(400)
  list(@Query() query: ListModelsQuery): Promise<ModelPage> {
    return this.models.list(query);
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get a model' })
  @ApiOkResponse({ type: ModelResponse })
  @ApiErrors(404)
  get(@Param('name') name: string): Promise<ModelResponse> {
    return this.models.get(name);
  }

  @Patch(':name')
  @Allow('ml_engineer', 'data_scientist')
  @ApiOperation({ summary: "Change a model's description, owner or tags; each change is audited with its old and new value (409 for the name)" })
  @ApiOkResponse({ type: ModelResponse })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  update(@CurrentPrincipal() actor: Principal, @Param('name') name: string, @Body() body: UpdateModelDto): Promise<ModelResponse> {
    return this.models.update(actor, name, body);
  }
}
