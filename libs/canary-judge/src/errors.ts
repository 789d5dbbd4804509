import { DomainError } from '@gatehouse/errors';

/** Aggregates binned against different reference profiles: their histograms' bins are not the same bins. */
export class AggregateProfileMismatchError extends DomainError {
  constructor(first: string, second: string) {
    super('conflict', 'aggregate_profile_mismatch', `aggregates binned against reference profiles ${first} and ${second} cannot be merged or folded together`, {
      profiles: [first, second],
    });
  }
}

/** An observation the fold cannot count (a latency or prediction value that is not a finite number). */
export class ObservationError extends DomainError {
  constructor(message: string, details: { index: number; field: string }) {
    super('invalid', 'invalid_observation', message, details);
  }
}

/** advanceAnalysis on an analysis that is not running, or resumeAnalysis on one that is not paused. */
export class AnalysisStateError extends DomainError {
  constructor(status: string) {
    super('conflict', 'analysis_state', `the analysis is ${status}: judgements go to running analyses, resumes to paused ones`, { status });
  }
}
