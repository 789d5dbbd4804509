import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ALLOWED_ROLES, PUBLIC_ROUTE } from './decorators';
import { MissingTokenError, RoleRequiredError } from './errors';
import { isAllowed, type Principal, type Role } from './roles';
import { TokenService } from './token.service';

/** Every route needs a valid bearer token unless marked @Public; @Allow narrows the roles. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new MissingTokenError();
    const principal = await this.tokens.authenticate(match[1]);
    request.principal = principal;

    const allowed = this.reflector.getAllAndOverride<Role[]>(ALLOWED_ROLES, targets) ?? [];
    if (!isAllowed(principal, allowed)) throw new RoleRequiredError(allowed);
    return true;
  }
}
