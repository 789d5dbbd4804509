import { DomainError } from '@gatehouse/errors';
import type { AnalysisRunRow } from './analysis-run.repository';

export class AnalysisRunNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'analysis_run_not_found', `analysis run ${id} does not exist`);
  }
}

/** Resume and abort apply to runs that are paused or still going. */
export class AnalysisNotActiveError extends DomainError {
  constructor(run: AnalysisRunRow, verb: 'resume' | 'abort', why: string) {
    super('conflict', 'analysis_not_active', `cannot ${verb} analysis ${run.id} of ${run.model}@${run.version}: it is ${run.status}, and ${why}`, { status: run.status });
  }
}

/** A new analysis needs a canary to judge and a production version to judge it against, and none already going. */
export class AnalysisCannotStartError extends DomainError {
  constructor(model: string, why: string, details: Record<string, unknown> = {}) {
    super('conflict', 'analysis_cannot_start', `cannot start a canary analysis of ${model}: ${why}`, details);
  }
}
