import { execFile } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { jsonLines, standardFixtures } from './fixtures/onnx-models';
import type { ApiClient } from './support/api-client';
import { runCaptured } from './support/cli-runner';
import { canaryAgainstProduction, startMonitoredRegistry, type MonitoredRegistry } from './support/canary-flow';
import { registerVersion } from './support/model-registration';
import type { TestRegistry } from './support/registry';
import { ServingFleet, type VersionBehaviour } from './support/serving-fleet';

const fixtures = standardFixtures();
const classifier = fixtures.classifier;
const CLI_ENTRY = resolve(__dirname, '../dist/apps/cli/src/main.js');

/** Small limits, so that a file of thousands of observations takes several batches, cut by count and by size. */
const MAX_BATCH = 500;
const MAX_BODY_BYTES = 64 * 1024;
const WITHIN_LIMITS = ['--batch-size', String(MAX_BATCH), '--batch-bytes', String(MAX_BODY_BYTES)];

/** As in canary-analysis.e2e-spec.ts: two steps of one two-second interval each, on one-second telemetry windows. */
const MONITORING_POLICY = {
  analysis: { steps: [10, 50], bakeSeconds: 2, intervalSeconds: 2, failureLimit: 2, inconclusiveLimit: 2, criteria: { minSamples: 30 } },
  // A model whose traffic can never be enough: every interval is inconclusive, and the analysis pauses.
  models: { thin: { analysis: { criteria: { minSamples: 1_000_000 } } } },
};
const BASELINE: VersionBehaviour = { medianLatencyMs: 20, errorRate: 0.05 };

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

describe('gatehouse telemetry and analysis against a running registry', () => {
  let registry: TestRegistry;
  let workDir: string;
  let monitored: MonitoredRegistry;
  let engineer: ApiClient;
  let reporter: ApiClient;
  let releaseKey: KeyObject;

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
    monitored = await startMonitoredRegistry('embedded', MONITORING_POLICY, { TELEMETRY_MAX_BATCH: String(MAX_BATCH), MAX_JSON_BODY_SIZE: String(MAX_BODY_BYTES) });
    ({ registry, engineer, reporter, releaseKey, workDir } = monitored);
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

  afterAll(() => monitored?.close());

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

  describe('canary analyses', () => {
    /** model@1.0.0 in production and model@2.0.0 promoted to canary, with a fleet serving both: returns the analysis that started and the fleet. */
    async function analysedCanary(model: string): Promise<{ id: string; fleet: ServingFleet }> {
      await canaryAgainstProduction(engineer, releaseKey, model);
      const fleet = new ServingFleet(reporter, { model, keys: 40, requestsPerKey: 5, tickMs: 100, seed: 7, behaviour: () => BASELINE });
      fleet.start();
      const [run] = await json(engineer, 'analysis', 'list', model);
      return { id: run.id, fleet };
    }

    it('lists a good canary’s analysis, watches it to passed (exit 0), and shows every judged interval', async () => {
      const { id, fleet } = await analysedCanary('steady');
      try {
        const listed = await gatehouse(engineer, 'analysis', 'list', 'steady');
        expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+CANARY\s+BASELINE\s+STATUS\s+STEP\s+TRAFFIC\s+FAILURES\s+INCONCLUSIVES\s+STARTED$/);
        expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+2\\.0\\.0\\s+1\\.0\\.0\\s+(running|passed)\\s`, 'm'));

        const watched = await gatehouse(engineer, 'analysis', 'show', id, '--watch');
        expect(watched.stderr).toBe('');
        expect(watched.code).toBe(0);
        expect(watched.stdout).toMatch(/^status:\s+passed$/m);
      } finally {
        await fleet.stop();
      }
      const shown = await gatehouse(engineer, 'analysis', 'show', id);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^canary:\s+steady@2\.0\.0 against production steady@1\.0\.0$/m);
      expect(shown.stdout).toMatch(/^step:\s+2\/2 of 10%, 50%;/m);
      expect(shown.stdout).toMatch(/^failures:\s+0 \(rolls back at 2\)$/m);
      expect(shown.stdout).toMatch(/^#\s+STEP\s+TRAFFIC\s+WINDOW\s+VERDICT\s+ACTION\s+METRICS$/m);
      expect(shown.stdout).toMatch(/^1\s+1\s+10%\s+\S+Z → \S+Z\s+pass\s+next_step\s+latency pass \(\w+\), error_rate pass \(\w+\)/m);
      expect(shown.stdout).toMatch(/^2\s+2\s+50%\s+.*\s+pass\s+passed\s+latency pass/m);
      const run = await json(engineer, 'analysis', 'show', id);
      expect(run).toMatchObject({ id, status: 'passed', steps: [10, 50] });
      expect(run.judged.map((interval: any) => interval.action)).toEqual(['next_step', 'passed']);
      // A finished run is watched once: its exit code says how it ended.
      expect((await gatehouse(engineer, '--json', 'analysis', 'show', id, '--watch')).code).toBe(0);
    });

    it('watches a starved canary to paused (exit 1), resumes it, aborts it with a reason', async () => {
      const { id, fleet } = await analysedCanary('thin');
      try {
        const paused = await gatehouse(engineer, 'analysis', 'show', id, '--watch');
        expect(paused.code).toBe(1);
        expect(paused.stdout).toMatch(/^status:\s+paused$/m);
        expect(paused.stdout).toMatch(/inconclusive\s+pause\s+no data: latency, error_rate,/);
        expect(paused.stderr).toContain(`error: analysis ${id} is paused after 2 inconclusive intervals; gatehouse analysis resume ${id} goes on`);

        const resumed = await gatehouse(engineer, 'analysis', 'resume', id);
        expect(resumed.stderr).toBe('');
        expect(resumed.stdout).toBe(`analysis ${id} of thin@2.0.0 is running again at step 1/2 (10% of keys)\n`);
        expect((await gatehouse(reporter, 'analysis', 'resume', id)).stderr).toMatch(/^error \w+: /);

        const unexplained = await gatehouse(engineer, 'analysis', 'abort', id);
        expect(unexplained.code).toBe(2);
        expect(unexplained.stderr).toContain("required option '--reason <text>' not specified");
        const aborted = await gatehouse(engineer, 'analysis', 'abort', id, '--reason', 'not enough traffic to tell');
        expect(aborted.stdout).toBe(`analysis ${id} aborted; thin@2.0.0 is no longer the canary\n`);
      } finally {
        await fleet.stop();
      }
      const again = await gatehouse(engineer, 'analysis', 'resume', id);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error analysis_not_active: cannot resume analysis/);
      const watched = await gatehouse(engineer, 'analysis', 'show', id, '--watch');
      expect(watched.code).toBe(1);
      expect(watched.stderr).toContain(`analysis ${id} was aborted by engineer: not enough traffic to tell`);
      expect((await gatehouse(engineer, 'analysis', 'show', 'not-a-run')).stderr).toMatch(/^error analysis_run_not_found: /);
    });

    it('replays recorded traffic while a canary is analysed, and finds the analysis by its version', async () => {
      await canaryAgainstProduction(engineer, releaseKey, 'replayed');
      // Both versions answering the same requests, without times: each round is stamped as it arrives.
      const recorded = Array.from({ length: 200 }, (_, index) => observation(index % 2 === 0 ? '1.0.0' : '2.0.0', index >> 1, { withFeatures: true }));
      await writeFile(join(workDir, 'recorded.jsonl'), lines(recorded));
      const replay = await gatehouse(engineer, 'telemetry', 'report', 'replayed', 'recorded.jsonl', '--while-analysing', '--every', '1');
      expect(replay.stderr).toBe('');
      expect(replay.stdout).toMatch(/^replayed: \d+ observations accepted in \d+ rounds; analysis \S+ of replayed@2\.0\.0: passed\n$/);
      const rounds = Number(/in (\d+) rounds/.exec(replay.stdout)![1]);
      expect(rounds).toBeGreaterThanOrEqual(2);
      expect(replay.stdout).toContain(`replayed: ${rounds * 200} observations`);

      const shown = await json(engineer, 'analysis', 'show', 'replayed@2.0.0');
      expect(shown).toMatchObject({ version: '2.0.0', status: 'passed' });
      expect((await gatehouse(engineer, 'analysis', 'show', 'replayed@2.0.0', '--watch')).code).toBe(0);
      expect((await gatehouse(engineer, 'analysis', 'show', 'replayed@1.0.0')).stderr).toBe(
        'error: replayed@1.0.0 has had no canary analysis: promoting it to canary while another version is in production starts one\n',
      );

      // Nothing is running now, and a line with a time would land in the same past window every round.
      const idle = await gatehouse(engineer, 'telemetry', 'report', 'replayed', 'recorded.jsonl', '--while-analysing');
      expect(idle.code).toBe(1);
      expect(idle.stderr).toMatch(/^error: replayed has no canary analysis running \(its newest, \S+, is passed\): promote a version to canary first; nothing was sent\n$/);
      await writeFile(join(workDir, 'timed.jsonl'), lines([recorded[0], { ...recorded[1], time: new Date().toISOString() }]));
      const timed = await gatehouse(engineer, 'telemetry', 'report', 'replayed', 'timed.jsonl', '--while-analysing');
      expect(timed.code).toBe(1);
      expect(timed.stderr).toContain('timed.jsonl line 2 has a time: a replay is stamped as each round arrives');
      expect((await gatehouse(engineer, 'telemetry', 'report', 'replayed', 'recorded.jsonl', '--while-analysing', '--labels')).code).toBe(2);

      // Analysed again on request, from the step the canary is at; one run at a time.
      const started = await gatehouse(engineer, 'analysis', 'start', 'replayed');
      expect(started.stderr).toBe('');
      expect(started.stdout).toMatch(/^analysis \S+ of replayed@2\.0\.0 against production replayed@1\.0\.0 started at step 1\/1 \(50% of keys\)\n$/);
      const twice = await gatehouse(engineer, 'analysis', 'start', 'replayed');
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/^error analysis_cannot_start: cannot start a canary analysis of replayed: analysis \S+ of replayed@2\.0\.0 is running: resume or abort it/);
    });
  });
});
