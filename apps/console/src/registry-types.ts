/** The parts of the registry's answers the console reads, as /docs/openapi.json describes them. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Model {
  name: string;
  description: string | null;
  owner: string | null;
  tags: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export type ServingStage = 'staging' | 'canary' | 'production';

export interface StageHolder {
  version: string;
  trafficPercent: number | null;
  assignedBy: string;
  assignedAt: string;
  promotionId: string | null;
}

export interface ModelStages {
  model: string;
  stages: Record<ServingStage, StageHolder | null>;
}

export interface Version {
  model: string;
  version: string;
  status: string;
  stage: string;
  task: string;
  tags: Record<string, string>;
  aliases: string[];
  createdBy: string;
  createdAt: string;
  gate: { runId: string; stage: string; status: string; healthScore: number | null } | null;
}
