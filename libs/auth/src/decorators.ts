import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Principal, Role } from './roles';

export const ALLOWED_ROLES = 'gatehouse:allowed-roles';
export const PUBLIC_ROUTE = 'gatehouse:public-route';

/** Restricts a route to these roles (admin always passes). Routes without it accept any valid token. */
export const Allow = (...roles: Role[]) => SetMetadata(ALLOWED_ROLES, roles);

/** No token needed: health probes and API docs. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
