/**
 * Telemetry benchmark: observations per second ingested through
 * `POST /v1/models/{name}/telemetry` by a registry child process on
 * Postgres, from a few concurrent keep-alive clients posting batches as a
 * serving fleet does, and in the same run, on the same database, the raw
 * baseline: the same observations folded in process with canary-judge and
 * merged into a twin of telemetry_windows with `pg`, by as many concurrent
 * workers. The baseline starts from the observations in memory as the
 * service holds them once parsed, so the ratio prices what the API adds:
 * HTTP, JSON, validation, authentication and lookups. Rounds run baseline,
 * API, API, baseline, so machine noise falls on both sides. Prints both rates, the ratio per round and its median against
 * the target, and the server's memory growth per million observations.
 * Checks at the end that the registry's summary counts every observation
 * sent and that both tables hold the same aggregates. Exits 0 whether or not
 * the target is met, 1 if something broke.
 *
 * Postgres is a fresh database on TEST_DATABASE_URL's server (127.0.0.1:5432
 * by default), dropped at the end. Without a reachable Postgres the registry
 * runs on its embedded database, which is single-session: the baseline cannot
 * share it, so only the API's rate is measured, and the output says so.
 *
 *   npm run bench:telemetry                                   # 200,000 observations per run, 5 rounds
 *   BENCH_OBSERVATIONS=500000 BENCH_CLIENTS=4 npm run bench:telemetry
 *   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:telemetry   # flags for the server's node
 *   node dist/bench/telemetry/main.js --quick                 # 5,000 observations, one round: does it still run?
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { text } from 'node:stream/consumers';
import { Pool } from 'pg';
import type { ReferenceProfile, TelemetryAggregate } from '@gatehouse/canary-judge';
import { createTestDatabase } from '../../test/support/postgres';
import { QUICK, runBench, type BenchRun } from '../support/bench-run';
import { median, timed } from '../support/measure';
import { freePort, memoryMib, RegistryProcess, SERVER_NODE_ARGS } from '../support/registry-process';
import { BASELINE_TABLE, createBaselineTable, ingestDirectly, parsed, type ParsedObservation } from './direct-ingest';
import { observationBatches, trainingExamples, type ObservationBatch } from './traffic';

const BATCH_SIZE = 1000;
const OBSERVATIONS = positiveIntegerFromEnv('BENCH_OBSERVATIONS', QUICK ? 5 * BATCH_SIZE : 200_000);
/**
 * Reporters at once, on both sides: a fleet's replicas each report every few seconds, so a registry sees many
 * batches at a time. With 4 the API measured 0.45 of the baseline, with 16 0.55: its reports then share transactions.
 */
const CLIENTS = positiveIntegerFromEnv('BENCH_CLIENTS', 16);
const ROUNDS = QUICK ? 1 : 5;
const WARM_UP_BATCHES = QUICK ? 2 : 50;
/** The registry's default window, set explicitly so that the baseline folds into the same windows. */
const WINDOW_SECONDS = 60;
const WINDOWS = 4;
const TARGET_RATIO = 0.5;
const MODEL = 'bench';
const VERSION = '1.0.0';

async function main({ dir, onEnd }: BenchRun): Promise<void> {
  const database = await createTestDatabase();
  if (database) onEnd(() => database.drop());
  const server = RegistryProcess.spawn({
    dataDir: join(dir, 'data'),
    port: await freePort(),
    nodeArgs: SERVER_NODE_ARGS,
    // No gate worker: the committed version's registration gate would compete with ingestion for the CPU.
    env: { GATE_WORKERS: '0', TELEMETRY_WINDOW_SECONDS: String(WINDOW_SECONDS), ...(database && { DATABASE_URL: database.url }) },
  });
  onEnd(() => server.stop());
  const pool = database && new Pool({ connectionString: database.url, max: CLIENTS });
  if (pool) onEnd(() => pool.end());
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  onEnd(() => agent.destroy());
  try {
    await server.waitForHealth();
    const reporterToken = await registerServedVersion(server);
    const batchCount = Math.ceil(OBSERVATIONS / BATCH_SIZE);
    const batches = observationBatches({ version: VERSION, batches: batchCount, batchSize: BATCH_SIZE, windows: WINDOWS, windowMs: WINDOW_SECONDS * 1000, seed: 19 });
    const parsedBatches = batches.map((batch) => parsed(batch.observations));
    const observationsPerRun = batchCount * BATCH_SIZE;

    const throughApi = (count = batches.length) => postAll(server, agent, reporterToken, batches.slice(0, count));
    // The first batch makes the registry compute the version's reference profile, which the baseline then folds against.
    await throughApi(WARM_UP_BATCHES);
    const baseline = pool && (await prepareBaseline(pool));
    const direct = baseline && ((count = parsedBatches.length) => ingestAllDirectly(baseline.pool, baseline.versionId, baseline.profile, parsedBatches.slice(0, count)));
    await direct?.(WARM_UP_BATCHES);

    const before = { rss: await memoryMib(server.pid, 'VmRSS'), hwm: await memoryMib(server.pid, 'VmHWM') };
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const firstBaseline = await direct?.();
      const firstApi = await timed(() => throughApi());
      const secondApi = await timed(() => throughApi());
      const secondBaseline = await direct?.();
      rounds.push({
        apiSeconds: (firstApi.seconds + secondApi.seconds) / 2,
        baselineSeconds: firstBaseline && secondBaseline ? (firstBaseline.seconds + secondBaseline.seconds) / 2 : null,
        serverRssMib: await memoryMib(server.pid, 'VmRSS'),
      });
    }
    const after = { rss: await memoryMib(server.pid, 'VmRSS'), hwm: await memoryMib(server.pid, 'VmHWM') };

    const sentThroughApi = (WARM_UP_BATCHES + 2 * ROUNDS * batches.length) * BATCH_SIZE;
    const counted = await summaryCount(server, reporterToken, batches);
    if (counted !== sentThroughApi) throw new Error(`the registry's summary counts ${counted} observations, ${sentThroughApi} were sent`);
    if (baseline) await assertSameWindows(baseline.pool);

    const measuredThroughApi = 2 * ROUNDS * observationsPerRun;
    report({
      database: database ? 'postgres' : 'embedded',
      observationsPerRun,
      rounds,
      sentThroughApi,
      rssGrowthMibPerMillion: ((after.rss - before.rss) * 1e6) / measuredThroughApi,
      peakGrowthMibPerMillion: ((after.hwm - before.hwm) * 1e6) / measuredThroughApi,
      rssMib: { before: before.rss, after: after.rss },
      peakRssMib: { before: before.hwm, after: after.hwm },
    });
  } catch (error) {
    throw server.exitStatus ? new Error(`the server exited: ${server.exitStatus}`, { cause: error }) : error;
  }
}

/** Seconds per run of observationsPerRun: the mean of a round's two API runs and of its two baselines (null without one). */
interface Round {
  apiSeconds: number;
  baselineSeconds: number | null;
  /** After the round: a series that levels off is the heap settling, one that climbs round after round is a leak. */
  serverRssMib: number;
}

function positiveIntegerFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return value;
}

/**
 * Through the API, as a team would: a model, its training data (so that the
 * registry bins the observations' features against it), a version with a
 * small file, committed. Returns a token with the serving systems' role.
 */
async function registerServedVersion(server: RegistryProcess): Promise<string> {
  const training = `${trainingExamples(2000, 7)
    .map((example) => JSON.stringify(example))
    .join('\n')}\n`;
  const trainingBytes = Buffer.from(training);
  await server.json('POST', '/v1/models', { name: MODEL });
  await server.json('POST', '/v1/datasets', { name: 'bench-training', version: '1', sha256: createHash('sha256').update(trainingBytes).digest('hex') });
  await putBytes(server, '/v1/datasets/bench-training/1/file', trainingBytes);
  const base = `/v1/models/${MODEL}/versions/${VERSION}`;
  await server.json('POST', `/v1/models/${MODEL}/versions`, { version: VERSION, task: 'classification', datasets: [{ name: 'bench-training', version: '1', role: 'training' }] });
  await putBytes(server, `${base}/files/model.bin`, Buffer.from('a small stand-in for the model: telemetry never reads it\n'));
  await server.json('POST', `${base}/commit`, {});
  return (await server.json<{ token: string }>('POST', '/v1/tokens', { name: 'bench-serving-fleet', roles: ['reporter'] })).token;
}

async function putBytes(server: RegistryProcess, path: string, bytes: Buffer): Promise<void> {
  const response = await fetch(server.base + path, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

/** Posts every batch, CLIENTS at a time over keep-alive connections; each one must be accepted whole. */
async function postAll(server: RegistryProcess, agent: Agent, token: string, batches: ObservationBatch[]): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const receipt = await postBatch(server, agent, token, batch.body);
      if (receipt.accepted !== batch.observations.length) throw new Error(`a batch of ${batch.observations.length} observations was answered ${JSON.stringify(receipt)}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

function postBatch(server: RegistryProcess, agent: Agent, token: string, body: Buffer): Promise<{ accepted: number }> {
  return new Promise((resolve, reject) => {
    const post = request(`${server.base}/v1/models/${MODEL}/telemetry`, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length },
    });
    post.once('error', reject);
    post.once('response', (response) => {
      text(response).then((answer) => {
        if (response.statusCode !== 200) reject(new Error(`POST telemetry: ${response.statusCode} ${answer}`));
        else resolve(JSON.parse(answer) as { accepted: number });
      }, reject);
    });
    post.end(body);
  });
}

/** The baseline's twin table, and what the registry stored for the version: its id and the reference profile it folds against. */
async function prepareBaseline(pool: Pool): Promise<{ pool: Pool; versionId: string; profile: ReferenceProfile }> {
  await createBaselineTable(pool);
  const { rows } = await pool.query<{ version_id: string; profile: ReferenceProfile | null }>('SELECT version_id, profile FROM telemetry_profiles');
  if (rows.length !== 1 || rows[0].profile === null)
    throw new Error(`expected the registry to have profiled ${MODEL}@${VERSION} from its training data, found ${JSON.stringify(rows)}`);
  return { pool, versionId: rows[0].version_id, profile: rows[0].profile };
}

/** The baseline of postAll: CLIENTS workers, each on its own pooled connection, ingesting one batch at a time. */
function ingestAllDirectly(pool: Pool, versionId: string, profile: ReferenceProfile, batches: ParsedObservation[][]): Promise<{ seconds: number }> {
  let next = 0;
  const worker = async () => {
    const client = await pool.connect();
    try {
      while (next < batches.length) await ingestDirectly(client, versionId, profile, batches[next++], WINDOW_SECONDS * 1000);
    } finally {
      client.release();
    }
  };
  return timed(() => Promise.all(Array.from({ length: CLIENTS }, worker)));
}

/** What the registry's summary counts over every window the batches fall in. */
async function summaryCount(server: RegistryProcess, token: string, batches: ObservationBatch[]): Promise<number> {
  let earliest = Infinity;
  let latest = -Infinity;
  for (const batch of batches) {
    for (const observation of batch.observations) {
      const time = Date.parse(observation.time);
      earliest = Math.min(earliest, time);
      latest = Math.max(latest, time);
    }
  }
  const from = new Date(earliest - WINDOW_SECONDS * 1000).toISOString();
  const to = new Date(latest + WINDOW_SECONDS * 1000).toISOString();
  const summary = await server.json<{ observations: number }>('GET', `/v1/models/${MODEL}/versions/${VERSION}/telemetry?from=${from}&to=${to}`, undefined, token);
  return summary.observations;
}

/**
 * Both sides took in the same batches as often, and every count in an
 * aggregate (latency buckets included) adds exactly in any order: the two
 * tables must agree window for window, or the baseline did other work.
 */
async function assertSameWindows(pool: Pool): Promise<void> {
  const windows = async (table: string) =>
    (
      await pool.query<{ window_start: Date; observations: string; aggregate: TelemetryAggregate }>(
        `SELECT window_start, observations, aggregate FROM ${table} ORDER BY window_start`,
      )
    ).rows.map((row) => JSON.stringify(row));
  const [api, direct] = await Promise.all([windows('telemetry_windows'), windows(BASELINE_TABLE)]);
  if (api.length !== direct.length || api.some((row, index) => row !== direct[index])) {
    throw new Error(`the baseline's windows differ from the registry's:\nregistry ${api.join('\n')}\nbaseline ${direct.join('\n')}`);
  }
}

interface Figures {
  database: 'postgres' | 'embedded';
  observationsPerRun: number;
  rounds: Round[];
  sentThroughApi: number;
  rssGrowthMibPerMillion: number;
  peakGrowthMibPerMillion: number;
  rssMib: { before: number; after: number };
  peakRssMib: { before: number; after: number };
}

function report(figures: Figures): void {
  const { rounds, observationsPerRun } = figures;
  const rate = (seconds: number) => observationsPerRun / seconds;
  const apiRate = rate(median(rounds.map((round) => round.apiSeconds)));
  const baselineSeconds = rounds.map((round) => round.baselineSeconds).filter((seconds) => seconds !== null);
  const baselineRate = baselineSeconds.length > 0 ? rate(median(baselineSeconds)) : null;
  // Each round's ratio compares API runs with baselines run beside them, so a burst of load elsewhere on the machine moves one round, not the verdict.
  const ratios = rounds.flatMap((round) => (round.baselineSeconds === null ? [] : [round.baselineSeconds / round.apiSeconds]));
  const ratio = ratios.length > 0 ? median(ratios) : null;
  const ratioMet = ratio !== null && ratio >= TARGET_RATIO;
  // Quick mode shows the benchmark still runs; its figures are too small to judge.
  const verdict = QUICK ? 'not judged in quick mode' : ratioMet ? 'met' : 'MISSED';
  const perSecond = (value: number) => `${Math.round(value).toLocaleString('en-US')} observations/s`;
  const rows: [string, string][] = [
    [
      'database',
      figures.database === 'postgres'
        ? 'Postgres, a fresh database (TEST_DATABASE_URL or 127.0.0.1:5432), both sides'
        : 'EMBEDDED: Postgres unreachable, so the registry runs on PGlite, which is single-session: no baseline, no ratio',
    ],
    [
      'load',
      `${observationsPerRun.toLocaleString('en-US')} observations per run in batches of ${BATCH_SIZE} over ${WINDOWS} windows of ${WINDOW_SECONDS} s, ${CLIENTS} concurrent clients, ${ROUNDS === 1 ? 'one round' : `${ROUNDS} rounds`} of ${figures.database === 'postgres' ? 'baseline, API, API, baseline' : 'API, API'}`,
    ],
    ['baseline fold + pg merge', baselineRate === null ? 'n/a' : `${perSecond(baselineRate)} (median)`],
    ['POST /v1/models/bench/telemetry', `${perSecond(apiRate)} (median)`],
    ['ratio API / baseline per round', ratios.length > 0 ? ratios.map((value) => value.toFixed(2)).join(' ') : 'n/a'],
    [`ratio, median of ${ROUNDS}`, ratio === null ? 'n/a' : `${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${verdict})`],
    ['server node flags', SERVER_NODE_ARGS.join(' ') || '(none)'],
    ['server VmRSS before, after', `${figures.rssMib.before.toFixed(0)} MiB, ${figures.rssMib.after.toFixed(0)} MiB`],
    ['server VmHWM before, after', `${figures.peakRssMib.before.toFixed(0)} MiB, ${figures.peakRssMib.after.toFixed(0)} MiB`],
    ['server VmRSS after each round', `${rounds.map((round) => round.serverRssMib.toFixed(0)).join(' ')} MiB`],
    ['growth per 1M observations', `VmRSS ${figures.rssGrowthMibPerMillion.toFixed(1)} MiB, VmHWM ${figures.peakGrowthMibPerMillion.toFixed(1)} MiB`],
    [
      'check',
      `the registry's summary counts all ${figures.sentThroughApi.toLocaleString('en-US')} observations sent${figures.database === 'postgres' ? '; both tables hold the same aggregates' : ''}`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'telemetry',
      quick: QUICK,
      database: figures.database,
      observationsPerRun,
      batchSize: BATCH_SIZE,
      clients: CLIENTS,
      rounds: ROUNDS,
      serverNodeArgs: SERVER_NODE_ARGS,
      baselineRate,
      apiRate,
      ratios,
      ratio,
      ratioMet,
      rssMib: figures.rssMib,
      rssMibAfterRound: rounds.map((round) => round.serverRssMib),
      peakRssMib: figures.peakRssMib,
      rssGrowthMibPerMillion: figures.rssGrowthMibPerMillion,
      peakGrowthMibPerMillion: figures.peakGrowthMibPerMillion,
    })}\n`,
  );
}

runBench('telemetry', main);
