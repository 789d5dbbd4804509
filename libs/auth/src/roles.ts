/** `reporter` is for serving systems: they send telemetry and read, nothing more. */
export const ROLES = ['admin', 'ml_engineer', 'data_scientist', 'approver', 'reader', 'reporter'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the bearer token on every request. */
export interface Principal {
  tokenId: string;
  /** The token's name; the actor recorded for every change it makes. */
  name: string;
  roles: Role[];
}

/** Admin may do anything; otherwise one of `allowed` is needed. An empty list means any authenticated caller. */
export function isAllowed(principal: Principal, allowed: readonly Role[]): boolean {
  if (allowed.length === 0 || principal.roles.includes('admin')) return true;
  return principal.roles.some((role) => allowed.includes(role));
}
