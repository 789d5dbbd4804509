import type { ModelStages, ServingStage, Version } from './registry-types';

/** The serving stages in the order a version moves through them. */
export const SERVING_STAGES: readonly ServingStage[] = ['staging', 'canary', 'production'];

export interface StageSlot {
  stage: ServingStage;
  /** Null when no version holds the stage. */
  version: string | null;
  /** "10% of requests" for a canary; null elsewhere and when empty. */
  traffic: string | null;
  since: string | null;
  by: string | null;
}

/** One slot per serving stage, in order, whether or not a version holds it. */
export function stageSlots(stages: ModelStages): StageSlot[] {
  return SERVING_STAGES.map((stage) => {
    const holder = stages.stages[stage];
    return {
      stage,
      version: holder?.version ?? null,
      traffic: holder && holder.trafficPercent !== null ? `${holder.trafficPercent}% of requests` : null,
      since: holder?.assignedAt ?? null,
      by: holder?.assignedBy ?? null,
    };
  });
}

export type VersionSortKey = 'version' | 'status' | 'stage' | 'createdAt';

/**
 * Versions ordered by `key`: versions by their numbers (1.10.0 after 1.9.0), stages from production down,
 * the rest as text; ties keep the newest first.
 */
export function sortVersions(versions: readonly Version[], key: VersionSortKey, direction: 'ascending' | 'descending'): Version[] {
  const sign = direction === 'ascending' ? 1 : -1;
  const compare = (a: Version, b: Version): number => {
    switch (key) {
      case 'version':
        return compareVersionNumbers(a.version, b.version);
      case 'stage':
        return stageRank(a.stage) - stageRank(b.stage);
      case 'createdAt':
        return a.createdAt.localeCompare(b.createdAt);
      case 'status':
        return a.status.localeCompare(b.status);
    }
  };
  return [...versions].sort((a, b) => sign * compare(a, b) || b.createdAt.localeCompare(a.createdAt));
}

/** production > canary > staging > anything else, so that sorting by stage puts what serves first when descending. */
function stageRank(stage: string): number {
  return SERVING_STAGES.indexOf(stage as ServingStage);
}

/** Compares dotted version strings part by part, numerically where both parts are numbers. */
export function compareVersionNumbers(a: string, b: string): number {
  const [left, right] = [a, b].map((text) => text.split(/[.+-]/));
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const [x, y] = [left[index] ?? '', right[index] ?? ''];
    const [nx, ny] = [Number(x), Number(y)];
    const order = x !== '' && y !== '' && Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x.localeCompare(y);
    if (order !== 0) return order;
  }
  return 0;
}

/** `key=value` for each tag, sorted by key. */
export function tagLabels(tags: Record<string, string>): string[] {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
}
