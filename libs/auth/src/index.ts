export { AuthModule } from './auth.module';
export { Allow, CurrentPrincipal, Public } from './decorators';
export { ROLES, type Principal, type Role } from './roles';
export { authEntities } from './api-token.entity';
export { TokenService } from './token.service';
