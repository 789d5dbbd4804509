import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;
const CLI_ENTRY = resolve(__dirname, '../dist/apps/cli/src/main.js');

/** Small limits, so that a file of thousands of observations takes several batches, cut by count and by size. */
const MAX_BATCH = 500;
const MAX_BODY_BYTES = 64 * 1024;
const WITHIN_LIMITS = ['--batch-size', String(MAX_BATCH), '--batch-bytes', String(MAX_BODY_BYTES)];

/** What a serving system reports for one request: the model's prediction on a training example, its features when `withFeatures`. */
function observation(version: string, index: number, options: { withFeatures?: boolean; requestId?: string } = {}) {
  const example = classifier.training[index % classifier.training.length];
  return {
    version,
    latencyMs: 10 + (index % 20),
    error: index % 50 === 0,
    prediction: { class: Number(example.label) },
    ...(options.withFeatures ? { features: { features: example.inputs.features } } : {}),
    ...(options.requestId ? { requestId: options.requestId } : {}),
  };
}

const lines = (items: unknown[]) => items.map((item) => JSON.stringify(item)).join('\n') + '\n';

describe('gatehouse telemetry against a running registry', () => {
  let registry: TestRegistry;
  let workDir: string;
  let engineer: ApiClient;
  let reporter: ApiClient;

  const as = (client: ApiClient) => ({ HOME: workDir, GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: client.token! });
  const gatehouse = (client: ApiClient, ...argv: string[]) => runCaptured(argv, as(client), workDir);
  const json = async (client: ApiClient, ...argv: string[]) => {
    const result = await gatehouse(client, '--json', ...argv);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  };
  const observed = async (version: string) => (await json(engineer, 'telemetry', 'show', `scorer@${version}`, '--since', '1h')).observations as number;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-monitoring-'));
    registry = await startRegistry('embedded', {
      TELEMETRY_MAX_BATCH: String(MAX_BATCH),
      MAX_JSON_BODY_SIZE: String(MAX_BODY_BYTES),
    });
    const token = async (name: string, roles: string[]) => registry.admin.withToken((await registry.admin.post('/v1/tokens', { name, roles })).body.token);
    engineer = await token('engineer', ['ml_engineer']);
    reporter = await token('fleet', ['reporter']);
    // The training data is the reference drift is measured against.
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
      const committed = await registerVersion(engineer, {
        model: 'scorer',
        version,
        task: 'classification',
        files: { 'model.onnx': classifier.model.bytes },
        schema: classifier.model.schema,
        datasets: [{ role: 'training', name: 'scorer-training', content: jsonLines(classifier.training) }],
      });
      expect(committed.status).toBe(200);
    }
  });

  afterAll(async () => {
    await registry?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('reports thousands of observations in batches within both limits, and telemetry show counts them all', async () => {
    // Without features an observation is small, and 500 of them fill a batch; with them, a batch is full by size first.
    const observations = Array.from({ length: 3000 }, (_, index) => observation('1.0.0', index, { withFeatures: index >= 1500 }));
    await writeFile(join(workDir, 'served.jsonl'), lines(observations));

    const reported = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'served.jsonl', ...WITHIN_LIMITS);
    expect(reported.stderr).toBe('');
    expect(reported.code).toBe(0);
    const batches = Number(/3000 observations accepted in (\d+) batches/.exec(reported.stdout)?.[1]);
    // 3000 / 500 by count alone; the observations with features took more.
    expect(batches).toBeGreaterThan(3000 / MAX_BATCH);

    const shown = await gatehouse(engineer, 'telemetry', 'show', 'scorer@1.0.0', '--since', '1h');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^observations:\s+3000$/m);
    expect(shown.stdout).toMatch(/^errors:\s+60 \(2\.00%\)$/m);
    expect(shown.stdout).toMatch(/^latency:\s+p50 [\d.]+ ms {2}p95 [\d.]+ ms {2}p99 [\d.]+ ms$/m);
    expect(shown.stdout).toMatch(/^drift:\s+PSI [\d.]+, worst features\[\d+\]; against scorer-training@1$/m);
    const summary = await json(
      engineer,
      'telemetry',
      'show',
      'scorer@1.0.0',
      '--from',
      new Date(Date.now() - 3600_000).toISOString(),
      '--to',
      new Date(Date.now() + 60_000).toISOString(),
    );
    expect(summary).toMatchObject({ model: 'scorer', version: '1.0.0', observations: 3000, errors: 60 });

    const conflicting = await gatehouse(engineer, 'telemetry', 'show', 'scorer@1.0.0', '--since', '1h', '--from', new Date().toISOString());
    expect(conflicting.code).toBe(2);
    const badSince = await gatehouse(engineer, 'telemetry', 'show', 'scorer@1.0.0', '--since', 'an hour');
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('--since takes a duration such as 90s, 30m, 1h or 7d');
  });

  it('names a line that is not JSON, or too large for a request, and sends nothing', async () => {
    const good = Array.from({ length: 10 }, (_, index) => JSON.stringify(observation('1.1.0', index)));
    await writeFile(join(workDir, 'broken.jsonl'), [...good.slice(0, 6), '{"version": "1.1.0", "latencyMs": 12', ...good.slice(6)].join('\n'));
    const broken = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'broken.jsonl', ...WITHIN_LIMITS);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^error: broken\.jsonl line 7 is not JSON \(.+\); nothing was sent$/m);

    await writeFile(join(workDir, 'oversized.jsonl'), lines([observation('1.1.0', 0), observation('1.1.0', 1, { withFeatures: true })]));
    const oversized = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'oversized.jsonl', '--batch-bytes', '150');
    expect(oversized.code).toBe(1);
    expect(oversized.stderr).toMatch(/oversized\.jsonl line 2 is \d+ bytes, too large for a request body of at most 150 bytes on its own/);

    expect(await observed('1.1.0')).toBe(0);
  });

  it('names an observation the registry refuses by its line in the file, and says what was kept and how to send the rest', async () => {
    // A blank third line: line numbers are the file's, not positions in a batch.
    const items = Array.from({ length: 1200 }, (_, index) => JSON.stringify(index === 1100 ? { ...observation('1.1.0', index), latencyMs: -5 } : observation('1.1.0', index)));
    await writeFile(join(workDir, 'refused.jsonl'), [...items.slice(0, 2), '', ...items.slice(2)].join('\n') + '\n');
    const refused = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'refused.jsonl', ...WITHIN_LIMITS);
    expect(refused.code).toBe(1);
    // Item 1100 is on line 1102; batches of 500 start at lines 1, 502 and 1002.
    expect(refused.stderr).toMatch(/^error invalid_telemetry: line 1102: latencyMs must be the request's latency in milliseconds, a finite number >= 0, not -5; /m);
    expect(refused.stderr).toContain('the 1000 observations before line 1002 were kept, nothing from that line on');
    expect(refused.stderr).toContain('tail -n +1002 refused.jsonl | gatehouse telemetry report scorer -');
    expect(await observed('1.1.0')).toBe(1000);

    // The registry's limits are not published: batches over them are refused whole, with the flag to give.
    const small = Array.from({ length: 1000 }, (_, index) => observation('1.1.0', index));
    await writeFile(join(workDir, 'small.jsonl'), lines(small));
    const tooMany = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'small.jsonl', '--batch-size', '800', '--batch-bytes', String(MAX_BODY_BYTES));
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toBe(
      'error invalid_telemetry: observations holds 800 observations, more than 500 in one batch: split it. ' +
        'The registry takes fewer than --batch-size 800: give its TELEMETRY_MAX_BATCH with --batch-size; nothing was kept\n',
    );
    await writeFile(join(workDir, 'large.jsonl'), lines(Array.from({ length: 1000 }, (_, index) => observation('1.1.0', index, { withFeatures: true }))));
    const tooLarge = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'large.jsonl');
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stderr).toContain(
      `error body_too_large: the registry takes request bodies of at most ${MAX_BODY_BYTES} bytes (its MAX_JSON_BODY_SIZE): give --batch-bytes ${MAX_BODY_BYTES}; nothing was kept\n`,
    );
    expect(await observed('1.1.0')).toBe(1000);
  });

  it('sends labels that arrive later to the predictions reported with their request ids, from a file or standard input', async () => {
    const predictions = Array.from({ length: 100 }, (_, index) => observation('1.2.0', index, { requestId: `late-${index}` }));
    await writeFile(join(workDir, 'predictions.jsonl'), lines(predictions));
    const reported = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'predictions.jsonl', ...WITHIN_LIMITS);
    expect(reported.code).toBe(0);
    expect(reported.stdout).toContain('scorer: 100 observations accepted in 1 batch; 100 predictions wait for their labels');

    // Every fourth label disagrees with its prediction; one names a request never reported.
    const labels = predictions.map((predicted, index) => ({ requestId: predicted.requestId, label: predicted.prediction.class + (index % 4 === 0 ? 1 : 0) }));
    await writeFile(join(workDir, 'labels.jsonl'), lines(labels.slice(0, 60)));
    const labelled = await gatehouse(reporter, 'telemetry', 'report', 'scorer', 'labels.jsonl', '--labels', ...WITHIN_LIMITS);
    expect(labelled.stderr).toBe('');
    expect(labelled.stdout).toContain('scorer: 60 labels matched a prediction, 0 did not');

    // Standard input is the installed CLI's own: run it from the build.
    const piped = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const child = execFile(
        process.execPath,
        [CLI_ENTRY, '--json', 'telemetry', 'report', 'scorer', '-', '--labels'],
        { env: { ...process.env, ...as(reporter) } },
        (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
      child.stdin!.end(lines([...labels.slice(60), { requestId: 'never-reported', label: 1 }]));
    });
    expect(piped.stderr).toBe('');
    expect(JSON.parse(piped.stdout)).toEqual({ matched: 40, unmatched: 1, batches: 1 });

    const shown = await gatehouse(engineer, 'telemetry', 'show', 'scorer@1.2.0');
    expect(shown.stdout).toMatch(/^accuracy:\s+75\.00% of 100 labelled$/m);
  });
});
