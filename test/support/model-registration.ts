import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { buildStatement, signStatement } from '@gatehouse/model-signing';
import type { ApiClient } from './api-client';

export interface DatasetUpload {
  role: 'training' | 'validation' | 'evaluation' | 'reference' | 'example';
  name: string;
  version?: string;
  /** JSON Lines content. */
  content: string;
}

export interface OnnxVersion {
  model: string;
  version: string;
  task: 'classification' | 'regression' | 'generative' | 'other';
  /** Files by path; model.onnx usually. */
  files: Record<string, Uint8Array>;
  schema?: unknown;
  metrics?: Record<string, number>;
  datasets?: DatasetUpload[];
  tags?: Record<string, string>;
  /** Signs the files with this key at commit (OpenSSF Model Signing), as production requires. */
  signWith?: KeyObject;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Registers a version in the three HTTP steps, with its datasets stored first; returns the commit response. */
export async function registerVersion(client: ApiClient, version: OnnxVersion): Promise<{ status: number; body: any }> {
  const model = await client.post('/v1/models', { name: version.model });
  if (model.status !== 201 && model.status !== 409) throw new Error(`creating model: ${model.status} ${JSON.stringify(model.body)}`);
  for (const dataset of version.datasets ?? []) {
    const datasetVersion = dataset.version ?? '1';
    const created = await client.post('/v1/datasets', { name: dataset.name, version: datasetVersion, sha256: sha256(dataset.content) });
    if (created.status === 409) continue;
    if (created.status !== 201) throw new Error(`registering dataset: ${created.status} ${JSON.stringify(created.body)}`);
    const stored = await client.put(`/v1/datasets/${dataset.name}/${datasetVersion}/file`, Buffer.from(dataset.content));
    if (stored.status !== 200 && stored.status !== 201) throw new Error(`uploading dataset: ${stored.status} ${JSON.stringify(stored.body)}`);
  }
  const base = `/v1/models/${version.model}/versions`;
  const declared = await client.post(base, {
    version: version.version,
    task: version.task,
    metrics: version.metrics,
    schema: version.schema,
    tags: version.tags,
    datasets: (version.datasets ?? []).map((dataset) => ({ name: dataset.name, version: dataset.version ?? '1', role: dataset.role })),
  });
  if (declared.status !== 201) throw new Error(`declaring: ${declared.status} ${JSON.stringify(declared.body)}`);
  for (const [path, bytes] of Object.entries(version.files)) {
    const uploaded = await client.put(`${base}/${version.version}/files/${path}`, Buffer.from(bytes), { 'x-content-sha256': sha256(bytes) });
    if (uploaded.status !== 201) throw new Error(`uploading ${path}: ${uploaded.status} ${JSON.stringify(uploaded.body)}`);
  }
  const digests = Object.entries(version.files).map(([path, bytes]) => ({ path, sha256: sha256(bytes) }));
  return client.post(`${base}/${version.version}/commit`, version.signWith ? { signature: signStatement(buildStatement(version.model, digests), version.signWith) } : {});
}

/** A fresh Ed25519 key the registry trusts as a signer (needs an admin client); returns its private half. */
export async function trustedSigningKey(admin: ApiClient, name: string): Promise<KeyObject> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const trusted = await admin.post('/v1/signers', { name, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) });
  if (trusted.status !== 201) throw new Error(`trusting signer ${name}: ${trusted.status} ${JSON.stringify(trusted.body)}`);
  return privateKey;
}

/** Waits for the version's latest gate run to finish and returns it with its report. */
export async function finishedGate(client: ApiClient, model: string, version: string, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await client.get(`/v1/models/${model}/versions/${version}`);
    const gate = found.body.gate;
    if (gate && ['passed', 'failed', 'error'].includes(gate.status)) return (await client.get(`/v1/gate-runs/${gate.runId}`)).body;
    if (Date.now() > deadline) throw new Error(`the gate on ${model}@${version} did not finish: ${JSON.stringify(gate)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The result of one check in a finished run. */
export function checkResult(run: { report: { results: { id: string }[] } }, id: string): any {
  const result = run.report.results.find((candidate) => candidate.id === id);
  if (!result) throw new Error(`the report has no ${id}: ${run.report.results.map((r) => r.id).join(', ')}`);
  return result;
}
