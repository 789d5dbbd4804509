import type { Principal } from '@gatehouse/auth';
import type { SecurityVerdict, ServingStage, VersionStage, VersionStatus } from '@gatehouse/catalog';
import { AlreadyDecidedError, ApproverRoleRequiredError, PromotionNotAllowedError, PromotionNotAwaitingApprovalError, SelfApprovalError, VersionFlaggedError } from './errors';
import type { StageRule } from './promotion-policy';

/**
 * The promotion state machine as plain functions: what a version may be
 * promoted to, what an approver's decision does, and what a version becomes
 * when another takes its stage. The services apply them under the row locks.
 */

/** A token role, as the auth lib names them. */
export type Role = Principal['roles'][number];
export type PromotionStatus = 'gating' | 'awaiting_approval' | 'completed' | 'rejected';
export type Decision = 'approve' | 'reject';

/** A promotion request as a decision on it sees it. */
export interface DecidedPromotion {
  id: string;
  stage: ServingStage;
  status: PromotionStatus;
  requestedByToken: string;
  requiredApprovals: number;
  /** The roles the policy listed as approvers for the stage when the request was made. */
  approverRoles: readonly Role[];
}

export interface Decider {
  tokenId: string;
  roles: readonly Role[];
}

export interface PriorDecision {
  tokenId: string;
  actor: string;
  decision: Decision;
  decidedAt: Date;
}

export type DecisionEffect = { kind: 'rejects' } | { kind: 'approves'; approvals: number; completes: boolean };

/**
 * What a decision does, or the error refusing it, checked in this order: a
 * role the policy lists as approver (admin only if listed), not the
 * requester's own token, the token's first decision on the request, and the
 * request waiting for approval. `prior` must be read under the promotion's
 * row lock, so two identical decisions racing cannot both be first.
 */
export function decisionEffect(promotion: DecidedPromotion, decider: Decider, decision: Decision, prior: readonly PriorDecision[], policyFile: string): DecisionEffect {
  if (!decider.roles.some((role) => promotion.approverRoles.includes(role))) throw new ApproverRoleRequiredError(promotion.stage, promotion.approverRoles, policyFile);
  if (promotion.requestedByToken === decider.tokenId) throw new SelfApprovalError();
  const earlier = prior.find((entry) => entry.tokenId === decider.tokenId);
  if (earlier) throw new AlreadyDecidedError(promotion.id, earlier.actor, earlier.decision, earlier.decidedAt);
  if (promotion.status !== 'awaiting_approval') throw new PromotionNotAwaitingApprovalError(promotion.id, promotion.status);
  if (decision === 'reject') return { kind: 'rejects' };
  const approvals = prior.filter((entry) => entry.decision === 'approve').length + 1;
  return { kind: 'approves', approvals, completes: approvals >= promotion.requiredApprovals };
}

/**
 * What the version holding `stage` becomes when another version takes it.
 * Production's holder has served, so it is archived, and only a rollback
 * returns it. A staging or canary holder has never served in production (a
 * version that has is in production, archived or rolled back, and none of
 * those can be promoted), so it is a validated version again, free to be
 * promoted.
 */
export function displacedStage(stage: ServingStage): VersionStage {
  return stage === 'production' ? 'archived' : 'none';
}

export interface VersionState {
  status: VersionStatus;
  stage: VersionStage;
  security: SecurityVerdict | null;
}

/** Throws the 409 (or 422 for a flagged version) saying why a version may not go to `stage` from where it is now. */
export function assertPromotable(ref: string, stage: ServingStage, rule: StageRule | undefined, state: VersionState): void {
  const refuse = (reason: string) => new PromotionNotAllowedError(ref, stage, reason, { status: state.status, currentStage: state.stage });
  if (!rule) throw refuse('the promotion policy allows no promotions to it');
  if (state.status === 'pending_upload') throw refuse('it is not committed');
  if (state.status === 'rejected') throw refuse('its registration gate rejected it');
  if (state.status !== 'validated') throw refuse(`its registration gate has not passed yet (status ${state.status})`);
  if (state.stage === 'rolled_back') throw refuse('it was rolled back');
  if (state.security?.status === 'flagged') throw new VersionFlaggedError(ref, stage, state.security);
  if (state.stage === stage) throw refuse(`it is already in ${stage}`);
  if (state.stage === 'archived') throw refuse('it was replaced in production and is archived; only a rollback returns it to production');
  if (!(rule.from as string[]).includes(state.stage)) {
    const where = state.stage === 'none' ? 'not at any stage yet' : `in ${state.stage}`;
    throw refuse(`it is ${where}, and ${stage} takes versions from ${rule.from.map((source) => (source === 'none' ? 'validated versions' : source)).join(' or ')}`);
  }
}
