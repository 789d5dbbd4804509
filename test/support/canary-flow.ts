import type { KeyObject } from 'node:crypto';
import { jsonLines, standardFixtures } from '../fixtures/onnx-models';
import type { ApiClient } from './api-client';
import { finishedGate, registerVersion } from './model-registration';
import { promoteAndSettle } from './promotion-flow';

const fixtures = standardFixtures();

/**
 * `model`@1.0.0 in production and `model`@2.0.0 promoted to canary (10%),
 * both the standard classifier, signed with `signingKey` and gated, under a
 * promotion policy that needs no approvals: returns the analysis run the
 * canary started.
 */
export async function canaryAgainstProduction(engineer: ApiClient, signingKey: KeyObject, model: string): Promise<any> {
  for (const version of ['1.0.0', '2.0.0']) {
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
