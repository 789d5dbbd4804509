import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayUnique, IsArray, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const NAME_RULE = 'must be 1-100 characters of lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

export class CreateModelDto {
  @ApiProperty({ example: 'fraud-detector' })
  @IsString()
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({ example: 'risk-ml' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  owner?: string;

  @ApiPropertyOptional({ type: [String], example: ['tabular', 'pii'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(/^[a-z0-9][a-z0-9:._-]{0,63}$/, { each: true, message: 'each tag must be 1-64 lowercase characters' })
  tags?: string[];
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
