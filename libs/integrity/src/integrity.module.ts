import { Module } from '@nestjs/common';
import { SignatureVerifier } from './signature-verifier';
import { SignerController } from './signer.controller';
import { SignerService } from './signer.service';
import { TrustedSignerRepository } from './trusted-signer.repository';

@Module({
  controllers: [SignerController],
  providers: [TrustedSignerRepository, SignerService, SignatureVerifier],
  exports: [SignatureVerifier],
})
export class IntegrityModule {}
