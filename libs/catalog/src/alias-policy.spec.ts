import { AliasPolicy, AliasPolicyError } from './alias-policy';

describe('AliasPolicy', () => {
  const policy = AliasPolicy.parse({ protected: { champion: { roles: ['approver'] }, 'prod-candidate': { roles: ['approver', 'admin'] } } });

  it('lets setters move unprotected aliases and only the listed roles move protected ones; admin counts there only if listed', () => {
    expect(policy.allows(['ml_engineer'], 'challenger')).toBe(true);
    expect(policy.allows(['data_scientist'], 'challenger')).toBe(true);
    expect(policy.allows(['approver'], 'challenger')).toBe(false);
    expect(policy.allows(['reader'], 'challenger')).toBe(false);
    expect(policy.allows(['admin'], 'challenger')).toBe(true);
    expect(policy.allows(['ml_engineer'], 'champion')).toBe(false);
    expect(policy.allows(['approver'], 'champion')).toBe(true);
    expect(policy.allows(['admin'], 'champion')).toBe(false);
    expect(policy.allows(['admin'], 'prod-candidate')).toBe(true);
    expect(policy.rolesFor('champion')).toEqual({ roles: ['approver'], protected: true });
    expect(policy.rolesFor('challenger')).toEqual({ roles: ['ml_engineer', 'data_scientist'], protected: false });
  });

  it('takes its own setters, and protects nothing without a section', () => {
    expect(AliasPolicy.parse({ setters: ['approver'] }).allows(['ml_engineer'], 'anything')).toBe(false);
    expect(AliasPolicy.parse(undefined).allows(['ml_engineer'], 'champion')).toBe(true);
  });

  it('lists every problem of the section at once', () => {
    expect(() => AliasPolicy.parse({ protected: { Champion: { roles: ['boss'] }, ok: 'approver' }, setters: [], extra: 1 }, 'config/promotion.json')).toThrow(
      new AliasPolicyError('config/promotion.json', [
        'aliases: unknown key "extra"',
        'aliases.setters must be a non-empty list of roles (admin, ml_engineer, data_scientist, approver, reader, reporter)',
        'aliases.protected.Champion: an alias is 1-64 lowercase letters, digits, "_" or "-", starting with a letter',
        'aliases.protected.Champion.roles: unknown role "boss" (expected admin, ml_engineer, data_scientist, approver, reader, reporter)',
        'aliases.protected.ok must be an object with "roles"',
      ]),
    );
    expect(() => AliasPolicy.parse([])).toThrow(/"aliases" must be an object/);
  });
});
