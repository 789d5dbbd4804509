import { RoleRequiredError } from './errors';

describe('RoleRequiredError', () => {
  it('lists admin once when the route allows only admin', () => {
    const error = new RoleRequiredError(['admin']);
    expect(error).toMatchObject({ kind: 'forbidden', code: 'role_required', message: 'this action needs one of the roles: admin' });
    expect(error.details).toEqual({ allowed: ['admin'] });
  });

  it('lists admin first, then each allowed role once, in order', () => {
    const error = new RoleRequiredError(['ml_engineer', 'admin', 'data_scientist', 'ml_engineer']);
    expect(error.message).toBe('this action needs one of the roles: admin, ml_engineer, data_scientist');
    expect(error.details).toEqual({ allowed: ['admin', 'ml_engineer', 'data_scientist'] });
  });
});
