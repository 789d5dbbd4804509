import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  Max,
  Min,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Validate,
  ValidateNested,
  ValidatorConstraint,
  ValidateIf,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { DATASET_ROLES, TASKS, type DatasetRole, type Task } from '@gatehouse/gate-engine';
import { TENSOR_DTYPES, type TensorDtype } from '@gatehouse/onnx';
import { VERSION_STAGES, VERSION_STATUSES, type VersionStage, type VersionStatus } from '../catalog.types';
import { MAX_TAG_VALUE_LENGTH, TAG_KEY_RULE, tagProblem, type TagPatch } from '../version-tags';
import { NAME_PATTERN, NAME_RULE, PageQuery } from './model.dto';

@ValidatorConstraint({ name: 'numericRecord' })
class NumericRecord implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'number' && Number.isFinite(v));
  }
  defaultMessage(): string {
    return 'metrics must be an object of finite numbers, e.g. {"val_accuracy": 0.93}';
  }
}

/** Version tags; `[true]` as constraints for a patch, where null removes a key. */
@ValidatorConstraint({ name: 'versionTags' })
class VersionTagObject implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return tagProblem(value, { patch: args.constraints[0] === true }) === undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    return tagProblem(args.value, { patch: args.constraints[0] === true }) ?? 'tags are invalid';
  }
}

@ValidatorConstraint({ name: 'tensorShape' })
class TensorShape implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return (
      Array.isArray(value) &&
      value.length <= 16 &&
      value.every((d) => d === null || (Number.isInteger(d) && (d as number) >= 0) || (typeof d === 'string' && /^[A-Za-z_][\w]{0,63}$/.test(d)))
    );
  }
  defaultMessage(): string {
    return 'shape must be an array of non-negative integers, symbolic names (e.g. "batch") or null';
  }
}

/** What git prints: abbreviated to as few as 4 hex digits, 40 in full, or 64 in a repository using SHA-256 object names. */
const GIT_COMMIT_HASH = /^(?:[0-9a-f]{4,40}|[0-9a-f]{64})$/;
const GIT_COMMIT_HASH_RULE = 'commit must be a git commit hash: 4 to 40 hex digits (abbreviated or full SHA-1, e.g. 9f2c1e7), or 64 for a SHA-256 repository';

export class SourceDto {
  @ApiPropertyOptional({ example: 'https://git.example.com/ml/fraud' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  repository?: string;

  @ApiPropertyOptional({ example: '9f2c1e7', description: 'Git commit hash, abbreviated or full: 4 to 40 hex digits, or 64 in a SHA-256 repository; stored in lower case' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @Matches(GIT_COMMIT_HASH, { message: GIT_COMMIT_HASH_RULE })
  commit?: string;

  @ApiPropertyOptional({ example: 'run-2024-11-02-17' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  runId?: string;
}

export class VersionRefDto {
  @ApiProperty()
  @IsString()
  @Matches(NAME_PATTERN, { message: `model ${NAME_RULE}` })
  model: string;

  @ApiProperty()
  @IsString()
  @MaxLength(128)
  version: string;
}

export class ParentDto extends VersionRefDto {
  @ApiPropertyOptional({ example: 'fine_tuned_from', default: 'derived_from' })
  @IsOptional()
  @Matches(/^[a-z][a-z_]{0,63}$/, { message: 'relation must be a lowercase word such as fine_tuned_from' })
  relation?: string;
}

export class DatasetUseDto {
  @ApiProperty()
  @IsString()
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ApiProperty()
  @IsString()
  @MaxLength(64)
  version: string;

  @ApiProperty({ enum: DATASET_ROLES })
  @IsIn(DATASET_ROLES, { message: `role must be one of: ${DATASET_ROLES.join(', ')}` })
  role: DatasetRole;
}

export class TensorSpecDto {
  @ApiProperty({ example: 'input' })
  @IsString()
  @MaxLength(200)
  name: string;

  @ApiProperty({ enum: TENSOR_DTYPES })
  @IsIn(TENSOR_DTYPES, { message: `dtype must be one of: ${TENSOR_DTYPES.join(', ')}` })
  dtype: TensorDtype;

  @ApiProperty({ example: ['batch', 4], type: 'array', items: {} })
  @Validate(TensorShape)
  shape: (number | string | null)[];
}

export class IoSchemaDto {
  @ApiProperty({ type: [TensorSpecDto] })
  @IsArray()
  @ArrayMaxSize(256)
  @ValidateNested({ each: true })
  @Type(() => TensorSpecDto)
  inputs: TensorSpecDto[];

  @ApiProperty({ type: [TensorSpecDto] })
  @IsArray()
  @ArrayMaxSize(256)
  @ValidateNested({ each: true })
  @Type(() => TensorSpecDto)
  outputs: TensorSpecDto[];
}

export class DeclareVersionDto {
  @ApiProperty({ example: '1.2.0', description: 'Semantic version, unique per model' })
  @IsString()
  @MaxLength(128)
  version: string;

  @ApiProperty({ enum: TASKS })
  @IsIn(TASKS, { message: `task must be one of: ${TASKS.join(', ')}` })
  task: Task;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { team: 'risk', 'runtime/target': 'server' },
    description: 'Key/value tags; they may change after commit',
  })
  @IsOptional()
  @Validate(VersionTagObject, [false])
  tags?: Record<string, string>;

  @ApiPropertyOptional({ example: { val_accuracy: 0.93 } })
  @IsOptional()
  @Validate(NumericRecord)
  metrics?: Record<string, number>;

  @ApiPropertyOptional({ description: 'Training configuration (hyper-parameters)' })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Training environment: framework versions, hardware, image' })
  @IsOptional()
  @IsObject()
  environment?: Record<string, unknown>;

  @ApiPropertyOptional({ type: SourceDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => SourceDto)
  source?: SourceDto;

  @ApiPropertyOptional({ type: [ParentDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @ValidateNested({ each: true })
  @Type(() => ParentDto)
  parents?: ParentDto[];

  @ApiPropertyOptional({ type: [DatasetUseDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => DatasetUseDto)
  datasets?: DatasetUseDto[];

  @ApiPropertyOptional({
    type: IoSchemaDto,
    description:
      "The inputs and outputs clients may rely on, held to the model by schema_match. Omitted, the gate infers them from the ONNX model's graph and stores them as `inferred`.",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => IoSchemaDto)
  schema?: IoSchemaDto;
}

export class ListVersionsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: VERSION_STATUSES })
  @IsOptional()
  @IsIn(VERSION_STATUSES)
  status?: VersionStatus;

  @ApiPropertyOptional({ enum: VERSION_STAGES })
  @IsOptional()
  @IsIn(VERSION_STAGES)
  stage?: VersionStage;

  @ApiPropertyOptional({ description: 'Prefix of the version, e.g. "2." for every 2.x' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  search?: string;

  @ApiPropertyOptional({ type: [String], description: 'key=value (that value) or key (any value); repeat it and every one must match', example: 'team=risk' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value))
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(MAX_TAG_VALUE_LENGTH + 129, { each: true })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}(?:=[\s\S]*)?$/, { each: true, message: `each tag filter is key=value or key; ${TAG_KEY_RULE}` })
  tag?: string[];
}

/** What a version carries from its declaration on: PATCH names them in a 409 rather than a 400, since they are real fields that cannot change. */
export const IMMUTABLE_VERSION_FIELDS = ['version', 'task', 'format', 'metrics', 'params', 'environment', 'source', 'parents', 'datasets', 'schema', 'files'] as const;

/** PATCH /v1/models/{name}/versions/{version}: description and tags, at any status. */
export class UpdateVersionDto {
  @ApiPropertyOptional({ type: String, nullable: true, description: 'null clears it' })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  description?: string | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    example: { reviewed: 'yes', draft: null },
    description: 'Merged into the tags (JSON Merge Patch): a value sets its key, null removes it',
  })
  @ValidateIf((_version: object, value: unknown) => value !== undefined)
  @Validate(VersionTagObject, [true])
  tags?: TagPatch;

  @Allow() version?: unknown;
  @Allow() task?: unknown;
  @Allow() format?: unknown;
  @Allow() metrics?: unknown;
  @Allow() params?: unknown;
  @Allow() environment?: unknown;
  @Allow() source?: unknown;
  @Allow() parents?: unknown;
  @Allow() datasets?: unknown;
  @Allow() schema?: unknown;
  @Allow() files?: unknown;
}

export class SetVersionTagDto {
  @ApiProperty({ example: 'yes' })
  @IsString()
  @MaxLength(MAX_TAG_VALUE_LENGTH)
  value: string;
}

export class CommitVersionDto {
  @ApiPropertyOptional({ description: 'OpenSSF Model Signing bundle (what model_signing or gatehouse sign writes to model.sig)' })
  @IsOptional()
  @IsObject()
  signature?: Record<string, unknown>;
}

export class LineageQuery {
  @ApiPropertyOptional({ enum: ['up', 'down', 'both'], default: 'both' })
  @IsOptional()
  @IsIn(['up', 'down', 'both'])
  direction?: 'up' | 'down' | 'both';

  @ApiPropertyOptional({ minimum: 1, maximum: 50, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(50)
  depth?: number;
}
