import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, standardFixtures } from '../fixtures/onnx-models';
import type { ApiClient } from './api-client';
import { finishedGate, registerVersion, trustedSigningKey } from './model-registration';
import { promoteAndSettle } from './promotion-flow';
import { startRegistry, type Backend, type TestRegistry } from './registry';

const fixtures = standardFixtures();

/** `model`@`version`, the standard classifier signed with `signingKey`, registered with its evaluation set and through its gate. */
export async function registerValidated(engineer: ApiClient, signingKey: KeyObject, model: string, version: string): Promise<void> {
  const committed = await registerVersion(engineer, {
    model,
    version,
    task: 'classification',
    files: { 'model.onnx': fixtures.classifier.model.bytes },
    schema: fixtures.classifier.model.schema,
    datasets: [{ role: 'evaluation', name: `${model}-eval`, content: jsonLines(fixtures.classifier.evaluation) }],
    signWith: signingKey,
  });
  if (committed.status !== 200) throw new Error(`registering ${model}@${version}: ${committed.status} ${JSON.stringify(committed.body)}`);
  const gate = await finishedGate(engineer, model, version);
  if (gate.status !== 'passed') throw new Error(`${model}@${version}'s gate ${gate.status}: ${JSON.stringify(gate)}`);
}

/**
 * `model`@1.0.0 in production and `model`@2.0.0 promoted to canary (10%),
 * both the standard classifier, signed with `signingKey` and gated, under a
 * promotion policy that needs no approvals: returns the analysis run the
 * canary started.
 */
export async function canaryAgainstProduction(engineer: ApiClient, signingKey: KeyObject, model: string): Promise<any> {
  for (const version of ['1.0.0', '2.0.0']) await registerValidated(engineer, signingKey, model, version);
  for (const [version, stage] of [
    ['1.0.0', 'production'],
    ['2.0.0', 'canary'],
  ] as const) {
    const promotion = await promoteAndSettle(engineer, [], { model, version }, stage);
    if (promotion.status !== 'completed') throw new Error(`promoting ${model}@${version} to ${stage}: ${JSON.stringify(promotion)}`);
  }
  const runs = (await engineer.get(`/v1/models/${model}/analysis-runs`)).body.items;
  if (runs.length !== 1) throw new Error(`${model}'s canary started ${runs.length} analysis runs, not one: ${JSON.stringify(runs)}`);
  return runs[0];
}

/** Promotion straight to canary and production, without approvals: the monitoring suites test analysis and alerts, not approval rules. */
const DIRECT_PROMOTION_POLICY = {
  stages: { staging: { from: ['none'], approvals: 0 }, canary: { from: ['none', 'staging'], approvals: 0 }, production: { from: ['none', 'canary'], approvals: 0 } },
};

export interface MonitoredRegistry {
  registry: TestRegistry;
  engineer: ApiClient;
  /** A `reporter` token: what a serving fleet holds. */
  reporter: ApiClient;
  /** Trusted by the registry, as production requires. */
  releaseKey: KeyObject;
  /** Holds the policy files; the suite may keep its own files here. */
  workDir: string;
  /** The settings it runs with, for a replica to run with the same. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A registry on `backend` under `monitoringPolicy` and direct promotions,
 * with one-second telemetry windows and a scheduler polling every 100 ms, so
 * analyses and alert rules decide in seconds; plus an engineer, a reporter
 * and a trusted signing key.
 */
export async function startMonitoredRegistry(backend: Backend, monitoringPolicy: object, env: Record<string, string> = {}): Promise<MonitoredRegistry> {
  const workDir = await mkdtemp(join(tmpdir(), 'gatehouse-monitoring-'));
  try {
    await writeFile(join(workDir, 'monitoring.json'), JSON.stringify(monitoringPolicy));
    await writeFile(join(workDir, 'promotion.json'), JSON.stringify(DIRECT_PROMOTION_POLICY));
    const settings = {
      GATE_WORKERS: '1',
      GATE_POLL_MS: '50',
      TELEMETRY_WINDOW_SECONDS: '1',
      ANALYSIS_POLL_MS: '100',
      MONITORING_POLICY: join(workDir, 'monitoring.json'),
      PROMOTION_POLICY: join(workDir, 'promotion.json'),
      ...env,
    };
    const registry = await startRegistry(backend, settings);
    const token = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
    return {
      registry,
      engineer: await token('engineer', ['ml_engineer']),
      reporter: await token('fleet', ['reporter']),
      releaseKey: await trustedSigningKey(registry.admin, 'release'),
      workDir,
      env: settings,
      async close() {
        await registry.close();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}
