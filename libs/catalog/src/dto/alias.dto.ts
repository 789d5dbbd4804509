import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class SetAliasDto {
  @ApiProperty({ example: '1.2.0', description: 'A committed version of the model' })
  @IsString()
  @MaxLength(128)
  version: string;
}

export class AliasResponse {
  @ApiProperty() model: string;
  @ApiProperty({ example: 'champion' }) alias: string;
  @ApiProperty({ example: '1.2.0' }) version: string;
  @ApiProperty() setBy: string;
  @ApiProperty() setAt: string;
  @ApiProperty({ description: "Whether the promotion policy's aliases section limits who may move it" }) protected: boolean;
}

export class AliasList {
  @ApiProperty() model: string;
  @ApiProperty({ type: [AliasResponse] }) items: AliasResponse[];
}
