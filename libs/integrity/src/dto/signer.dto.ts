import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class CreateSignerDto {
  @ApiProperty({ example: 'release-key-2026' })
  @IsString()
  @Matches(/^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,99}$/, { message: 'name must be 1-100 letters, digits, ".", "_", "@" or "-"' })
  name: string;

  @ApiPropertyOptional({ description: 'PEM public key (EC P-256/384/521, Ed25519 or RSA); or give certificate' })
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  publicKey?: string;

  @ApiPropertyOptional({ description: "PEM X.509 certificate: a signer's own, or a CA root (basicConstraints CA) that vouches for those it issued" })
  @IsOptional()
  @IsString()
  @MaxLength(50_000)
  certificate?: string;

  @ApiPropertyOptional({ description: 'After this instant signatures by this key are rejected' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: Date;
}

export class SignerResponse {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['public_key', 'certificate', 'ca'] }) kind: string;
  @ApiProperty({ nullable: true, type: String }) subject: string | null;
  @ApiProperty({ description: 'Hex SHA-256 of the SPKI PEM: the key hint in OMS bundles' }) fingerprint: string;
  @ApiProperty() publicKey: string;
  @ApiProperty({ nullable: true, type: String }) expiresAt: string | null;
  @ApiProperty() createdBy: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) revokedAt: string | null;
}
