import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Dataset } from './api-types';
import { ApiError, apiPath, type GatehouseClient } from './gatehouse-client';
import { sha256OfFile } from './local-files';
import { UsageError } from './references';

/**
 * Registers a dataset file under its SHA-256 and uploads it. Re-running after
 * an interrupted upload finishes it; different bytes under the same name and
 * version never replace the first.
 */
export async function uploadDataset(
  api: GatehouseClient,
  absolutePath: string,
  shown: string,
  declared: { name: string; version: string; description?: string; uri?: string },
): Promise<{ dataset: Dataset; alreadyStored: boolean }> {
  const size = await stat(absolutePath).then(
    (found) => found.size,
    (error: Error) => {
      throw new UsageError(`cannot read ${shown}: ${error.message}`);
    },
  );
  const sha256 = await sha256OfFile(absolutePath);
  const base = `/v1/datasets/${apiPath(declared.name, declared.version)}`;
  const existing = await api.post<Dataset>('/v1/datasets', { ...declared, sha256 }).then(
    () => null,
    async (error: unknown) => {
      if (!(error instanceof ApiError && error.code === 'dataset_exists')) throw error;
      return api.get<Dataset>(base);
    },
  );
  if (existing && existing.sha256 !== sha256) {
    throw new Error(`${declared.name}@${declared.version} is already registered with sha256 ${existing.sha256}; ${shown} is ${sha256}`);
  }
  if (existing?.stored) return { dataset: existing, alreadyStored: true };
  const dataset = await api.upload<Dataset>(`${base}/file`, createReadStream(absolutePath), { 'x-content-sha256': sha256, 'content-length': String(size) });
  return { dataset, alreadyStored: false };
}
