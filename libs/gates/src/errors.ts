import { DomainError } from '@gatehouse/errors';

export class GateRunNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'gate_run_not_found', `gate run ${id} does not exist`);
  }
}

export class GateReportNotReadyError extends DomainError {
  constructor(id: string, status: string) {
    super('conflict', 'gate_report_not_ready', `gate run ${id} is ${status}; its report exists once it has finished`, { status });
  }
}

export class VersionNotGateableError extends DomainError {
  constructor(ref: string, status: string) {
    super('conflict', 'version_not_committed', `version ${ref} is ${status}: commit it before running a gate`, { status });
  }
}

/** The registration gate decides a version's status; once it serves at a stage, that status is settled. */
export class VersionServingError extends DomainError {
  constructor(ref: string, stage: string) {
    super('conflict', 'version_serving', `version ${ref} is ${stage}; the registration gate no longer decides its status (run the gate of a stage instead)`, { stage });
  }
}

export class StageWithoutPolicyError extends DomainError {
  constructor(stage: string, configured: string[]) {
    super('invalid', 'stage_without_policy', `the gate policy has no stage "${stage}" (it has: ${configured.join(', ')})`, { stage, configured });
  }
}

/** Allowances a model's scan cannot take: malformed, or globals the scan refuses whatever is allowed. */
export class ScanAllowanceRefusedError extends DomainError {
  constructor(fields: { field: string; errors: string[] }[]) {
    super('invalid', 'scan_allowance_refused', `scan allowances refused: ${fields.map((f) => `${f.field}: ${f.errors.join('; ')}`).join(' | ')}`, { fields });
  }
}

/** A stage the gate policy file leaves out: valid, but no gate is defined for it. */
export class UnknownStageError extends DomainError {
  constructor(stage: string, configured: string[]) {
    super('not_found', 'unknown_stage', `the gate policy has no stage "${stage}" (it has: ${configured.join(', ')})`, { stage, configured });
  }
}
