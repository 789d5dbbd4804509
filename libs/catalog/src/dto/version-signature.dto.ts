import { ApiProperty } from '@nestjs/swagger';
import { IsObject } from 'class-validator';

export class SignVersionDto {
  @ApiProperty({ description: "OpenSSF Model Signing bundle over exactly the committed version's files (paths and SHA-256)" })
  @IsObject()
  signature!: Record<string, unknown>;
}
