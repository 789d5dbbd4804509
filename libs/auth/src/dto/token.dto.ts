import { ApiProperty } from '@nestjs/swagger';
import { ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, Matches } from 'class-validator';
import { ROLES, type Role } from '../roles';

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-pipeline', description: 'Unique name; recorded as the actor of every change made with the token.' })
  @IsString()
  @Matches(/^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$/, {
    message: 'name must be 1-64 characters of letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
  })
  name: string;

  @ApiProperty({ enum: ROLES, isArray: true, example: ['ml_engineer'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(ROLES, { each: true, message: `each role must be one of: ${ROLES.join(', ')}` })
  roles: Role[];
}

export class TokenResponse {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles: Role[];
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt: string | null;
}

export class CreatedTokenResponse extends TokenResponse {
  @ApiProperty({ description: 'The secret, shown only in this response.' })
  token: string;
}

export class PrincipalResponse {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles: Role[];
}
