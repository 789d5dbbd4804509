import type { SecurityVerdict } from '@gatehouse/catalog';
import { DomainError } from '@gatehouse/errors';

export class PromotionNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'promotion_not_found', `promotion ${id} does not exist`);
  }
}

/** The version cannot go to that stage from where it is: the message says why. */
export class PromotionNotAllowedError extends DomainError {
  constructor(ref: string, stage: string, reason: string, details: Record<string, unknown> = {}) {
    super('conflict', 'promotion_not_allowed', `${ref} cannot be promoted to ${stage}: ${reason}`, { stage, ...details });
  }
}

/** The version's latest artifact scan failed: it may keep serving where it is, but goes no further until a scan passes. */
export class VersionFlaggedError extends DomainError {
  constructor(ref: string, stage: string, security: SecurityVerdict) {
    super(
      'unprocessable',
      'version_flagged',
      `${ref} cannot be promoted to ${stage}: its artifact scan under scanner ${security.scannerVersion} failed (gate run ${security.gateRunId}${security.message ? `: ${security.message}` : ''}). ` +
        'Read the findings at /v1/gate-runs/' +
        security.gateRunId +
        ', then register a fixed version; if the findings are expected, extend the scan policy and re-scan (POST /v1/admin/rescan). ' +
        'The flag does not move stage pointers: roll back yourself if it should stop serving.',
      { stage, security },
    );
  }
}

export class PromotionInProgressError extends DomainError {
  constructor(model: string, stage: string) {
    super('conflict', 'promotion_in_progress', `model ${model} already has a promotion to ${stage} in progress; follow it or wait for it to end`, { stage });
  }
}

export class PromotionNotAwaitingApprovalError extends DomainError {
  constructor(id: string, status: string) {
    super('conflict', 'promotion_not_awaiting_approval', `promotion ${id} is ${status}, not awaiting approval`, { status });
  }
}

export class SelfApprovalError extends DomainError {
  constructor() {
    super('forbidden', 'self_approval', 'the token that requested a promotion cannot decide on it');
  }
}

/** The token holds none of the roles the promotion policy lists as approvers for the stage; admin is no exception. */
export class ApproverRoleRequiredError extends DomainError {
  constructor(stage: string, approverRoles: readonly string[], policyFile: string) {
    super(
      'forbidden',
      'role_required',
      `deciding on a ${stage} promotion needs a token with one of the roles ${approverRoles.join(', ')}: the approvers the promotion policy sets ` +
        `(stages.${stage}.approvers in ${policyFile}, "approver" when absent; admin counts only if listed)`,
      { allowed: [...approverRoles], policy: policyFile },
    );
  }
}

/** A token decides once per promotion: a second approve or reject is refused, never counted again. */
export class AlreadyDecidedError extends DomainError {
  constructor(id: string, actor: string, decision: 'approve' | 'reject', decidedAt: Date) {
    const at = new Date(decidedAt).toISOString();
    super('conflict', 'already_decided', `${actor} already ${decision === 'approve' ? 'approved' : 'rejected'} promotion ${id} at ${at}; a token decides once per promotion`, {
      decision,
      decidedAt: at,
    });
  }
}

export class InvalidTrafficError extends DomainError {
  constructor(message: string) {
    super('invalid', 'invalid_traffic_percent', message, { fields: [{ field: 'trafficPercent', errors: [message] }] });
  }
}

export class NothingToRollBackError extends DomainError {
  constructor(message: string) {
    super('conflict', 'nothing_to_roll_back', message);
  }
}

export class NoServingVersionError extends DomainError {
  constructor(model: string) {
    super('not_found', 'no_serving_version', `model ${model} has no version in production`);
  }
}
