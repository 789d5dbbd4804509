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

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** One version as GET /v1/models/{name}/versions/{version} answers. */
export interface VersionDetail extends Version {
  description: string | null;
  format: string | null;
  manifestDigest: string | null;
  size: number | null;
  committedAt: string | null;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  environment: Record<string, unknown>;
  source: { repository?: string; commit?: string; runId?: string };
  schema: { inputs: TensorSpec[]; outputs: TensorSpec[] } | null;
  schemaSource: 'declared' | 'inferred' | null;
  parents: { model: string; version: string; relation: string }[];
  datasets: { name: string; version: string; role: string; sha256: string | null; size: number | null; uri: string | null }[];
  signature: { signer: string; fingerprint: string; verifiedAt: string } | null;
  files: { path: string; sha256: string; size: number; mediaType: string | null }[];
}
