import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, ArrayMaxSize, ArrayUnique, IsArray, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const NAME_RULE = 'must be 1-100 characters of lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

const ModelDescription = (nullable: boolean) =>
  applyDecorators(ApiPropertyOptional({ type: String, nullable, description: nullable ? 'null clears it' : undefined }), IsOptional(), IsString(), MaxLength(4000));
const ModelOwner = (nullable: boolean) =>
  applyDecorators(
    ApiPropertyOptional({ type: String, nullable, example: 'risk-ml', description: nullable ? 'null clears it' : undefined }),
    IsOptional(),
    IsString(),
    MaxLength(200),
  );
/** In a patch, null is no way to say "no tags" ([] is): only absence skips the checks. */
const ModelTags = (patch: boolean) =>
  applyDecorators(
    ApiPropertyOptional({ type: [String], example: ['tabular', 'pii'], description: patch ? 'Replaces every tag of the model' : undefined }),
    patch ? ValidateIf((_model: object, value: unknown) => value !== undefined) : IsOptional(),
    IsArray(),
    ArrayMaxSize(50),
    ArrayUnique(),
    Matches(/^[a-z0-9][a-z0-9:._-]{0,63}$/, { each: true, message: 'each tag must be 1-64 lowercase characters' }),
  );

export class CreateModelDto {
  @ApiProperty({ example: 'fraud-detector' })
  @IsString()
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ModelDescription(false) description?: string;
  @ModelOwner(false) owner?: string;
  @ModelTags(false) tags?: string[];
}

/** PATCH /v1/models/{name}: what is given changes, what is left out stays. */
export class UpdateModelDto {
  @ModelDescription(true) description?: string | null;
  @ModelOwner(true) owner?: string | null;
  @ModelTags(true) tags?: string[];
  /** Accepted by validation only so that the service can answer 409 naming it: a model's name is its identity. */
  @Allow() name?: unknown;
}

export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

export class ListModelsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Case-insensitive match on name or description' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tag?: string;
}

export class ModelResponse {
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ nullable: true, type: String }) owner: string | null;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class ModelPage {
  @ApiProperty({ type: [ModelResponse] }) items: ModelResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class ScanAllowancesLinks {
  @ApiProperty({ description: 'Every change of these allowances in the audit log' }) audit: string;
}

export class ModelScanAllowancesResponse {
  @ApiProperty() model: string;
  @ApiProperty({ type: [String], description: 'Pickle globals the scan allows for this model beyond the gate policy, as module.name or module.*' }) allowedGlobals: string[];
  @ApiProperty({ type: [String], description: 'ONNX operator domains the scan allows for this model beyond the gate policy' }) allowedOnnxDomains: string[];
  @ApiProperty({ nullable: true, type: String, description: 'Why the last change was made; null when none ever was' }) reason: string | null;
  @ApiProperty({ nullable: true, type: String }) changedBy: string | null;
  @ApiProperty({ nullable: true, type: String }) changedAt: string | null;
  @ApiProperty({ type: ScanAllowancesLinks }) links: ScanAllowancesLinks;
}
