/** The registry's responses, as far as the CLI reads them. */
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
}

export interface VersionFile {
  path: string;
  sha256: string;
  size: number;
  mediaType: string;
}

export interface Version {
  model: string;
  version: string;
  status: string;
  stage: string;
  task: string;
  format: string | null;
  description: string | null;
  metrics: Record<string, number>;
  manifestDigest: string | null;
  size: number | null;
  fileCount: number | null;
  createdBy: string;
  createdAt: string;
  committedAt: string | null;
  source?: { repository?: string; commit?: string; runId?: string };
  parents?: { model: string; version: string; relation: string }[];
  datasets?: { name: string; version: string; role: string; sha256: string }[];
  files?: VersionFile[];
}

export interface Token {
  id: string;
  name: string;
  roles: string[];
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  token?: string;
}

export interface AuditEvent {
  seq: number;
  occurredAt: string;
  actor: string;
  action: string;
  subject: string;
  payload: Record<string, unknown>;
  hash: string;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string };
  firstBrokenSeq?: number;
  reason?: string;
}
