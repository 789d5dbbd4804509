import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { registerVersion } from './support/model-registration';
import { startRegistry, startReplica, type Backend, type TestRegistry } from './support/registry';
import { until } from './support/wait';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;
const NOW = Date.now();

/** Observations as a serving system reports them: the model's own predictions on training-like inputs, with latencies. */
function observations(
  version: string,
  count: number,
  options: { shift?: number; latencyMs?: (index: number) => number; error?: (index: number) => boolean; offset?: number } = {},
) {
  return Array.from({ length: count }, (_, index) => {
    const example = classifier.training[(index + (options.offset ?? 0)) % classifier.training.length];
    const features = (example.inputs.features as number[]).map((value) => value + (options.shift ?? 0));
    return {
      version,
      time: new Date(NOW - 1000).toISOString(),
      latencyMs: options.latencyMs?.(index) ?? 10 + (index % 10),
      error: options.error?.(index) ?? false,
      prediction: { class: Number(example.label) },
      features: { features },
    };
  });
}

async function token(registry: TestRegistry, name: string, roles: string[]): Promise<ApiClient> {
  const minted = await registry.admin.post('/v1/tokens', { name, roles });
  expect(minted.status).toBe(201);
  return registry.admin.withToken(minted.body.token);
}

async function registerScorer(registry: TestRegistry, version: string): Promise<void> {
  const committed = await registerVersion(registry.admin, {
    model: 'scorer',
    version,
    task: 'classification',
    files: { 'model.onnx': classifier.model.bytes },
    schema: classifier.model.schema,
    datasets: [{ role: 'training', name: 'scorer-training', content: jsonLines(classifier.training) }],
  });
  expect(committed.status).toBe(200);
}

const summaryOf = async (client: ApiClient, version: string) => {
  const response = await client.get(`/v1/models/scorer/versions/${version}/telemetry?from=${new Date(NOW - 3600_000).toISOString()}&to=${new Date(NOW + 60_000).toISOString()}`);
  expect(response.status).toBe(200);
  return response.body;
};

describe.each<Backend>(['embedded', 'postgres+s3'])('telemetry (%s)', (backend) => {
  let registry: TestRegistry;
  let reporter: ApiClient;

  beforeAll(async () => {
    registry = await startRegistry(backend);
    reporter = await token(registry, 'serving-fleet', ['reporter']);
    await registerScorer(registry, '1.0.0');
    await registerScorer(registry, '1.1.0');
  });

  afterAll(async () => {
    await registry?.close();
  });

  it('keeps a batch as aggregates per version: counts, latency quantiles, classes, and drift against the training data', async () => {
    const batch = observations('1.0.0', 1000, { latencyMs: (index) => index + 1, error: (index) => index % 50 === 0 });
    const receipt = await reporter.post('/v1/models/scorer/telemetry', { observations: batch });
    expect(receipt.status).toBe(200);
    expect(receipt.body).toEqual({ accepted: 1000, windows: 1, awaitingLabels: 0 });

    const summary = await summaryOf(reporter, '1.0.0');
    expect(summary).toMatchObject({ model: 'scorer', version: '1.0.0', windows: 1, observations: 1000, errors: 20, errorRate: 0.02 });
    // Latencies 1..1000 ms: each quantile within the sketch's 1% of the exact rank's value.
    expect(Math.abs(summary.latencyMs.p50 - 500) / 500).toBeLessThan(0.011);
    expect(Math.abs(summary.latencyMs.p95 - 950) / 950).toBeLessThan(0.011);
    expect(Math.abs(summary.latencyMs.p99 - 990) / 990).toBeLessThan(0.011);
    const predicted = batch.reduce<Record<string, number>>(
      (counts, observation) => ({ ...counts, [observation.prediction.class]: (counts[observation.prediction.class] ?? 0) + 1 }),
      {},
    );
    expect(summary.classes).toEqual(predicted);
    expect(summary.drift).toMatchObject({ dataset: 'scorer-training@1' });
    const width = (classifier.training[0].inputs.features as number[]).length;
    expect(Object.keys(summary.drift.features).sort()).toEqual(Array.from({ length: width }, (_, index) => `features[${index}]`).sort());
    // The training data's own inputs do not drift from it.
    expect(summary.drift.score).toBeLessThan(0.1);
  });

  it('measures drift when the inputs move away from the training data', async () => {
    expect((await reporter.post('/v1/models/scorer/telemetry', { observations: observations('1.1.0', 500, { shift: 2 }) })).status).toBe(200);
    const summary = await summaryOf(reporter, '1.1.0');
    expect(summary.drift.score).toBeGreaterThan(0.3);
    expect(summary.drift.features[summary.drift.worst].psi).toBe(summary.drift.score);
  });

  it('refuses a bad batch whole, naming its first bad observation, and keeps nothing of it', async () => {
    const before = await summaryOf(reporter, '1.0.0');
    const batch = observations('1.0.0', 10);
    const bad = [...batch.slice(0, 3), { ...batch[3], latencyMs: -5 }, { ...batch[4], version: '9.9.9' }];
    const refused = await reporter.post('/v1/models/scorer/telemetry', { observations: bad });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_telemetry', details: { field: 'observations[3].latencyMs' } });
    expect(refused.body.message).toMatch(/nothing from this batch was kept/);

    const unknownVersion = await reporter.post('/v1/models/scorer/telemetry', { observations: [...batch.slice(0, 3), { ...batch[3], version: '9.9.9' }] });
    expect(unknownVersion.status).toBe(400);
    expect(unknownVersion.body).toMatchObject({ error: 'invalid_telemetry', details: { field: 'observations[3].version' } });
    expect(unknownVersion.body.message).toMatch(/scorer@9\.9\.9, which does not exist/);

    expect((await reporter.post('/v1/models/nope/telemetry', { observations: batch })).status).toBe(404);
    expect(await summaryOf(reporter, '1.0.0')).toEqual(before);
  });

  it('lets serving systems report and nothing else; readers may not report', async () => {
    expect((await reporter.post('/v1/models', { name: 'not-for-reporters' })).status).toBe(403);
    const reader = await token(registry, 'dashboards', ['reader']);
    expect((await reader.post('/v1/models/scorer/telemetry', { observations: observations('1.0.0', 1) })).status).toBe(403);
    expect((await registry.anonymous.post('/v1/models/scorer/telemetry', { observations: observations('1.0.0', 1) })).status).toBe(401);
  });

  it('scores labels that arrive later against the predictions reported with their request ids', async () => {
    const batch = observations('1.1.0', 100, { offset: 7 }).map((observation, index) => ({ ...observation, requestId: `late-${index}` }));
    const receipt = await reporter.post('/v1/models/scorer/telemetry', { observations: batch });
    expect(receipt.body).toMatchObject({ accepted: 100, awaitingLabels: 100 });
    // Every fourth label disagrees with the prediction.
    const labels = batch.map((observation, index) => ({
      requestId: observation.requestId,
      label: index % 4 === 0 ? observation.prediction.class + 1 : observation.prediction.class,
    }));
    const scored = await reporter.post('/v1/models/scorer/telemetry/labels', { labels: [...labels, { requestId: 'never-reported', label: 1 }] });
    expect(scored.status).toBe(200);
    expect(scored.body).toEqual({ matched: 100, unmatched: 1 });
    expect((await summaryOf(reporter, '1.1.0')).outcomes).toEqual({ labelled: 100, accuracy: 0.75, meanSquaredError: null });
    // A label counts once: sent again, it finds no prediction waiting.
    expect((await reporter.post('/v1/models/scorer/telemetry/labels', { labels })).body).toEqual({ matched: 0, unmatched: 100 });
    expect((await reporter.post('/v1/models/scorer/telemetry/labels', { labels: [{ requestId: 'x' }] })).status).toBe(400);
  });

  it('merges concurrent batches into the same window without losing one, across replicas where there are several', async () => {
    const replica = await startReplica(registry);
    try {
      const servers = [registry, ...(replica ? [replica] : [])].map((server) => server.admin.withToken(reporter.token!));
      const before = (await summaryOf(reporter, '1.0.0')).observations;
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          servers[index % servers.length].post('/v1/models/scorer/telemetry', { observations: observations('1.0.0', 250, { offset: index }) }),
        ),
      );
      expect(responses.map((response) => response.status)).toEqual(responses.map(() => 200));
      const after = await summaryOf(reporter, '1.0.0');
      expect(after.observations - before).toBe(12 * 250);
      expect(after.windows).toBe(1);
    } finally {
      await replica?.close();
    }
  });

  it('commits the batches that arrive together, and a batch whose write fails fails alone', async () => {
    // A database that refuses one batch's writes: the prediction it leaves waiting for a label.
    await registry.sql(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.request_id = 'poison' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await registry.sql('CREATE TRIGGER refuse_poison BEFORE INSERT ON telemetry_pending_labels FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    try {
      const before = (await summaryOf(reporter, '1.0.0')).observations;
      const poisoned = observations('1.0.0', 100, { offset: 40 }).map((observation, index) => (index === 7 ? { ...observation, requestId: 'poison' } : observation));
      const responses = await Promise.all([
        ...Array.from({ length: 8 }, (_, index) => reporter.post('/v1/models/scorer/telemetry', { observations: observations('1.0.0', 100, { offset: 20 + index }) })),
        reporter.post('/v1/models/scorer/telemetry', { observations: poisoned }),
      ]);
      expect(responses.slice(0, 8).map((response) => response.status)).toEqual(Array(8).fill(200));
      expect(responses[8].status).toBe(500);
      expect((await summaryOf(reporter, '1.0.0')).observations - before).toBe(800);
    } finally {
      await registry.sql('DROP TRIGGER refuse_poison ON telemetry_pending_labels');
      await registry.sql('DROP FUNCTION refuse_poison()');
    }
  });

  it('prunes at start the windows older than the retention and the predictions whose labels never came', async () => {
    const batch = observations('1.1.0', 50, { offset: 3 }).map((observation, index) => ({ ...observation, requestId: `unlabelled-${index}` }));
    expect((await reporter.post('/v1/models/scorer/telemetry', { observations: batch })).body).toMatchObject({ accepted: 50, awaitingLabels: 50 });
    const [{ id: versionId }] = await registry.sql<{ id: string }>(
      "SELECT v.id FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'scorer' AND v.version = '1.1.0'",
    );
    const held = async () => {
      const [{ windows, pending }] = await registry.sql<{ windows: number; pending: number }>(
        'SELECT (SELECT count(*)::int FROM telemetry_windows WHERE version_id = $1) AS windows, (SELECT count(*)::int FROM telemetry_pending_labels WHERE version_id = $1) AS pending',
        [versionId],
      );
      return { windows, pending };
    };
    expect(await held()).toEqual({ windows: 1, pending: 50 });
    // Past the 14 days kept by default, and past the labels' wait: what a registry left running holds.
    await registry.sql("UPDATE telemetry_windows SET window_start = window_start - interval '15 days' WHERE version_id = $1", [versionId]);
    await registry.sql("UPDATE telemetry_pending_labels SET expires_at = now() - interval '1 minute' WHERE version_id = $1", [versionId]);

    await registry.restart();
    await until(async () => {
      const now = await held();
      return now.windows === 0 && now.pending === 0 ? now : undefined;
    });
  });
});
