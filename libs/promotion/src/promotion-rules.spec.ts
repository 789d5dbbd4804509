import type { DomainError } from '@gatehouse/errors';
import { PromotionPolicy } from './promotion-policy';
import { assertPromotable, decisionEffect, displacedStage, type DecidedPromotion, type Decider, type PriorDecision, type VersionState } from './promotion-rules';

const POLICY_FILE = '/etc/gatehouse/promotion.json';
const production: DecidedPromotion = {
  id: '6f1c0a52-2b9e-4c1a-9d7e-0a1b2c3d4e5f',
  stage: 'production',
  status: 'awaiting_approval',
  requestedByToken: 'token-lead',
  requiredApprovals: 2,
  approverRoles: ['approver'],
};
const alice: Decider = { tokenId: 'token-alice', roles: ['approver'] };
const bob: Decider = { tokenId: 'token-bob', roles: ['approver', 'reader'] };
const admin: Decider = { tokenId: 'token-admin', roles: ['admin'] };
const aliceApproved: PriorDecision = { tokenId: 'token-alice', actor: 'alice', decision: 'approve', decidedAt: new Date('2026-11-24T23:44:48.331Z') };

/** The DomainError a call throws, for asserting its code, message and details. */
function refusal(call: () => unknown): DomainError {
  try {
    call();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('expected a refusal, got none');
}

describe('decisionEffect', () => {
  it('counts an approval and completes the request on the last one needed', () => {
    expect(decisionEffect(production, alice, 'approve', [], POLICY_FILE)).toEqual({ kind: 'approves', approvals: 1, completes: false });
    expect(decisionEffect(production, bob, 'approve', [aliceApproved], POLICY_FILE)).toEqual({ kind: 'approves', approvals: 2, completes: true });
  });

  it('lets any listed approver reject, whatever was approved before', () => {
    expect(decisionEffect(production, bob, 'reject', [aliceApproved], POLICY_FILE)).toEqual({ kind: 'rejects' });
  });

  it('refuses a second decision by the same token with 409 already_decided, saying what it decided and when', () => {
    for (const decision of ['approve', 'reject'] as const) {
      const error = refusal(() => decisionEffect(production, alice, decision, [aliceApproved], POLICY_FILE));
      expect([error.kind, error.code]).toEqual(['conflict', 'already_decided']);
      expect(error.message).toBe(`alice already approved promotion ${production.id} at 2026-11-24T23:44:48.331Z; a token decides once per promotion`);
      expect(error.details).toEqual({ decision: 'approve', decidedAt: '2026-11-24T23:44:48.331Z' });
    }
    const rejected = { ...production, status: 'rejected' as const };
    const afterReject = refusal(() => decisionEffect(rejected, alice, 'approve', [{ ...aliceApproved, decision: 'reject' }], POLICY_FILE));
    expect(afterReject.code).toBe('already_decided');
    expect(afterReject.message).toContain('alice already rejected');
  });

  it('says already_decided, not "completed", to the approver whose approval completed the request', () => {
    const completed = { ...production, status: 'completed' as const };
    expect(refusal(() => decisionEffect(completed, alice, 'approve', [aliceApproved], POLICY_FILE)).code).toBe('already_decided');
    expect(refusal(() => decisionEffect(completed, bob, 'approve', [aliceApproved], POLICY_FILE)).code).toBe('promotion_not_awaiting_approval');
  });

  it('refuses an admin token unless the policy lists admin, naming the roles and the policy file', () => {
    const error = refusal(() => decisionEffect(production, admin, 'approve', [], POLICY_FILE));
    expect([error.kind, error.code]).toEqual(['forbidden', 'role_required']);
    expect(error.message).toContain('needs a token with one of the roles approver');
    expect(error.message).toContain(`stages.production.approvers in ${POLICY_FILE}`);
    expect(error.details).toEqual({ allowed: ['approver'], policy: POLICY_FILE });
    const adminsApprove = { ...production, approverRoles: ['approver', 'admin'] as const };
    expect(decisionEffect(adminsApprove, admin, 'approve', [], POLICY_FILE)).toEqual({ kind: 'approves', approvals: 1, completes: false });
  });

  it('refuses roles the policy does not list, and approver when the policy lists only others', () => {
    const engineer: Decider = { tokenId: 'token-engineer', roles: ['ml_engineer', 'reader'] };
    expect(refusal(() => decisionEffect(production, engineer, 'reject', [], POLICY_FILE)).code).toBe('role_required');
    const leadsOnly = { ...production, approverRoles: ['ml_engineer'] as const };
    expect(refusal(() => decisionEffect(leadsOnly, alice, 'approve', [], POLICY_FILE)).details).toMatchObject({ allowed: ['ml_engineer'] });
    expect(decisionEffect(leadsOnly, engineer, 'approve', [], POLICY_FILE).kind).toBe('approves');
  });

  it('never lets the requester decide on their own request, even holding an approver role', () => {
    const lead: Decider = { tokenId: 'token-lead', roles: ['ml_engineer', 'approver'] };
    expect(refusal(() => decisionEffect(production, lead, 'approve', [], POLICY_FILE)).code).toBe('self_approval');
  });

  it('refuses decisions on a request that is not awaiting approval', () => {
    for (const status of ['gating', 'completed', 'rejected'] as const) {
      const error = refusal(() => decisionEffect({ ...production, status }, alice, 'approve', [], POLICY_FILE));
      expect([error.code, error.details]).toEqual(['promotion_not_awaiting_approval', { status }]);
    }
  });
});

describe('displacedStage and assertPromotable', () => {
  const rules = PromotionPolicy.parse({
    stages: { staging: { from: ['none'] }, canary: { from: ['staging'] }, production: { from: ['canary'], approvals: 2 } },
  });
  const validated = (stage: VersionState['stage']): VersionState => ({ status: 'validated', stage, security: null });
  const promote = (state: VersionState, stage: 'staging' | 'canary' | 'production') => () => assertPromotable('scorer@1.1.0', stage, rules.rule(stage), state);

  it('returns a version displaced from staging or canary to validated, promotable again', () => {
    for (const stage of ['staging', 'canary'] as const) {
      const displaced = validated(displacedStage(stage));
      expect(displaced.stage).toBe('none');
      expect(promote(displaced, 'staging')).not.toThrow();
    }
  });

  it('archives a version replaced in production, which no promotion takes back', () => {
    const replaced = validated(displacedStage('production'));
    expect(replaced.stage).toBe('archived');
    for (const stage of ['staging', 'canary', 'production'] as const) {
      const error = refusal(promote(replaced, stage));
      expect(error.code).toBe('promotion_not_allowed');
      expect(error.message).toContain('it was replaced in production and is archived; only a rollback returns it to production');
    }
  });

  it('takes each stage only from the one the policy names', () => {
    expect(refusal(promote(validated('none'), 'canary')).message).toBe(
      'scorer@1.1.0 cannot be promoted to canary: it is not at any stage yet, and canary takes versions from staging',
    );
    expect(promote(validated('staging'), 'canary')).not.toThrow();
    expect(refusal(promote(validated('canary'), 'canary')).message).toContain('it is already in canary');
    expect(refusal(promote(validated('rolled_back'), 'staging')).message).toContain('it was rolled back');
    expect(refusal(promote({ status: 'rejected', stage: 'none', security: null }, 'staging')).message).toContain('its registration gate rejected it');
  });
});
