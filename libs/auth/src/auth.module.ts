import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiTokenRepository } from './api-token.repository';
import { AuthGuard } from './auth.guard';
import { TokenController } from './token.controller';
import { TokenService } from './token.service';

@Module({
  controllers: [TokenController],
  providers: [ApiTokenRepository, TokenService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokenService],
})
export class AuthModule implements OnApplicationBootstrap {
  constructor(private readonly tokens: TokenService) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.tokens.bootstrapAdmin();
  }
}
