import { join } from 'node:path';
import { PromotionPolicy, PromotionPolicyError } from './promotion-policy';
import { servesCanary } from './traffic-split';

describe('servesCanary', () => {
  const keys = Array.from({ length: 100_000 }, (_, index) => `customer-${index}`);

  it.each([1, 10, 25, 50])('sends %i%% of 100,000 keys to the canary, within 2 points', (percent) => {
    const share = (keys.filter((key) => servesCanary('fraud', key, percent)).length / keys.length) * 100;
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(2);
  });

  it('is sticky per key and only moves keys toward the canary as the percent rises', () => {
    const at10 = keys.filter((key) => servesCanary('fraud', key, 10));
    expect(keys.filter((key) => servesCanary('fraud', key, 10))).toEqual(at10);
    expect(at10.every((key) => servesCanary('fraud', key, 20))).toBe(true);
    expect(keys.every((key) => servesCanary('fraud', key, 100))).toBe(true);
  });

  it('splits each model independently', () => {
    const fraud = keys.slice(0, 2000).map((key) => servesCanary('fraud', key, 50));
    const churn = keys.slice(0, 2000).map((key) => servesCanary('churn', key, 50));
    expect(fraud).not.toEqual(churn);
  });
});

describe('PromotionPolicy', () => {
  it('reads the rules per stage, approvers "approver" unless listed', () => {
    const policy = PromotionPolicy.parse({
      stages: { staging: { from: ['none'] }, production: { from: ['canary', 'staging'], approvals: 2, approvers: ['approver', 'admin', 'approver'] } },
    });
    expect(policy.rule('production')).toEqual({ from: ['canary', 'staging'], approvals: 2, approvers: ['approver', 'admin'] });
    expect(policy.rule('staging')).toEqual({ from: ['none'], approvals: 0, approvers: ['approver'] });
    expect(policy.rule('canary')).toBeUndefined();
  });

  it('reads the committed config/promotion.json', () => {
    const policy = PromotionPolicy.load(join(__dirname, '../../../config/promotion.json'));
    expect(policy.rule('production')).toEqual({ from: ['canary'], approvals: 2, approvers: ['approver'] });
  });

  it('lists every problem at once', () => {
    const parse = () =>
      PromotionPolicy.parse(
        {
          stages: { moon: {}, canary: { from: ['production'], approvals: -1, approvers: ['approver', 'boss'] }, staging: { from: ['staging'], extra: 1, approvers: [] } },
          other: 1,
        },
        'test.json',
      );
    expect(parse).toThrow(PromotionPolicyError);
    const problems = (() => {
      try {
        parse();
      } catch (error) {
        return (error as PromotionPolicyError).problems;
      }
      return [];
    })();
    expect(problems).toEqual([
      'unknown key "other"',
      'stages.moon: unknown stage (expected one of staging, canary, production)',
      'stages.canary.from: unknown stage "production" (expected none, staging, canary)',
      'stages.canary.approvals must be a whole number from 0 to 10',
      'stages.canary.approvers: unknown role "boss" (expected admin, ml_engineer, data_scientist, approver, reader, reporter)',
      'stages.staging: unknown key "extra"',
      'stages.staging.from: staging is not before staging',
      'stages.staging.approvers must be a non-empty list of roles (admin, ml_engineer, data_scientist, approver, reader, reporter)',
    ]);
  });
});
