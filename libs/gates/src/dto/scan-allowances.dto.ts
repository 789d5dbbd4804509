import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class ChangeScanAllowancesDto {
  @ApiProperty({
    type: [String],
    maxItems: 200,
    example: ['mylab.config.TrainConfig', 'pathlib.PosixPath'],
    description:
      "Pickle globals this model's scan allows beyond the gate policy, as module.name or module.* (every plain name of one module); replaces the current list. Dangerous globals cannot be allowed.",
  })
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  allowedGlobals: string[];

  @ApiPropertyOptional({
    type: [String],
    maxItems: 50,
    example: ['com.microsoft'],
    description: "ONNX operator domains this model's scan allows beyond the gate policy; replaces the current list (default: none)",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  allowedOnnxDomains?: string[];

  @ApiProperty({ maxLength: 2000, description: 'Why these are trusted: recorded in the audit log with the old and new lists' })
  @IsString()
  @Matches(/\S/, { message: 'reason must say why these globals or domains are trusted' })
  @MaxLength(2000)
  reason: string;
}
