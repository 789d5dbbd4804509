import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { NAME_PATTERN, NAME_RULE, PageQuery } from './model.dto';

export class CreateDatasetDto {
  @ApiProperty({ example: 'transactions' })
  @IsString()
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ApiProperty({ example: '2024-11' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, {
    message: 'version must be 1-64 characters of letters, digits, ".", "_", "+" or "-"',
  })
  version: string;

  @ApiPropertyOptional({ description: 'SHA-256 of the dataset file; required unless the file is uploaded' })
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/, { message: 'sha256 must be 64 lowercase hex characters' })
  sha256?: string;

  @ApiPropertyOptional({ example: 's3://datalake/transactions/2024-11.parquet' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  uri?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({ description: 'Column or feature schema, free-form JSON' })
  @IsOptional()
  @IsObject()
  schema?: Record<string, unknown>;
}

export class DatasetResponse {
  @ApiProperty() name: string;
  @ApiProperty() version: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ nullable: true, type: String }) sha256: string | null;
  @ApiProperty({ nullable: true, type: Number }) size: number | null;
  @ApiProperty({ nullable: true, type: String }) uri: string | null;
  @ApiProperty({ description: 'Whether the file is held by the registry' }) stored: boolean;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true }) schema: Record<string, unknown> | null;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
}

export class ListDatasetsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Case-insensitive match on name or description' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;
}

export class DatasetPage {
  @ApiProperty({ type: [DatasetResponse] }) items: DatasetResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
