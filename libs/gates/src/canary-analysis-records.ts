import { Injectable } from '@nestjs/common';
import type { CanaryAnalysisStanding } from '@gatehouse/gate-engine';

export type CanaryAnalysisSource = (version: { model: string; versionId: string }) => Promise<CanaryAnalysisStanding>;

/**
 * Where the production gate learns of a version's canary analyses. Analyses
 * belong to monitoring, a lib above this one, so monitoring provides the
 * source at start-up rather than gates reaching up to read its tables.
 * Without a source a run whose policy has canary_analysis cannot be judged,
 * and fails as infrastructure does (retried, then an error): skipping would
 * wave the version through.
 */
@Injectable()
export class CanaryAnalysisRecords {
  private source?: CanaryAnalysisSource;

  provide(source: CanaryAnalysisSource): void {
    if (this.source) throw new Error('canary analysis records already have a source');
    this.source = source;
  }

  async standingOf(version: { model: string; versionId: string }): Promise<CanaryAnalysisStanding> {
    if (!this.source) throw new Error(`nothing records canary analyses in this registry, so the canary_analysis check of ${version.model} cannot be judged`);
    return this.source(version);
  }
}
