/**
 * Resolve benchmark: `GET /v1/models/{name}/resolve?key=…` on a model with a
 * production version and a 10 % canary, under a closed-loop load of 64
 * keep-alive connections on loopback, and in the same run a bare node:http
 * server answering every request with a constant JSON body of the same shape.
 * Both see the same request bytes (a reader token, a different key each time).
 * Prints requests per second, p50 and p99 of each, and the ratio.
 * Exits 0 whether or not the target is met, 1 if something broke.
 *
 *   npm run bench:resolve
 *   node dist/bench/resolve/main.js --quick                                  # runs of 1 s, one round: does it still run?
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=128 npm run bench:resolve
 *   BENCH_SERVER_NODE_ARGS=--cpu-prof npm run bench:resolve                  # flags for the server's node
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench npm run bench:resolve   # an existing, empty database instead of the embedded one
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildStatement, signStatement } from '@gatehouse/model-signing';
import { classificationData, classifierModel, jsonLines, trainClassifier } from '../../test/fixtures/onnx-models';
import { QUICK, runBench, type BenchRun } from '../support/bench-run';
import { freePort, RegistryProcess, SERVER_NODE_ARGS } from '../support/registry-process';
import { until } from '../../test/support/wait';
import { generateLoad, type LoadResult } from './load-generator';

const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 10));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = QUICK ? 1 : 3;
const WARM_UP_SECONDS = QUICK ? 0.5 : 3;
const TARGET_RATIO = 0.5;
const KEYS = 4096;
const CANARY_PERCENT = 10;

/** Answers whatever it is asked with the body a resolve returns: the floor any HTTP service on this machine stands on. */
const BARE_SERVER = `
const body = JSON.stringify({ model: 'bench', version: '1.0.0', stage: 'production', trafficPercent: null });
require('node:http')
  .createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  })
  .listen(Number(process.argv[1]), '127.0.0.1');
`;

async function main({ dir, onEnd }: BenchRun): Promise<void> {
  const barePort = await freePort();
  const bare = spawn(process.execPath, ['-e', BARE_SERVER, String(barePort)], { stdio: ['ignore', 'ignore', 'inherit'] });
  onEnd(() => bare.kill());
  const registryPort = await freePort();
  const server = await startRegistry(dir, registryPort);
  onEnd(() => server.stop());
  try {
    await server.waitForHealth();
    const reader = await servingModel(server, dir);
    const requests = Array.from({ length: KEYS }, (_, i) =>
      Buffer.from(`GET /v1/models/bench/resolve?key=user-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${reader}\r\n\r\n`),
    );
    const load = (port: number, seconds: number) =>
      generateLoad({ port, connections: CONNECTIONS, seconds, requests, check: (body) => expectResolved(JSON.parse(body.toString()) as { model?: string; version?: string }) });

    await load(barePort, WARM_UP_SECONDS);
    await load(registryPort, WARM_UP_SECONDS);
    const bareRuns: LoadResult[] = [];
    const registryRuns: LoadResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRuns.push(await load(barePort, SECONDS));
      registryRuns.push(await load(registryPort, SECONDS));
    }
    report(best(bareRuns), best(registryRuns));
  } catch (error) {
    throw server.exitStatus === undefined ? error : new Error(`the registry exited: ${server.exitStatus}`, { cause: error });
  }
}

/** Spawned, not yet healthy: the caller registers it to be stopped before waiting, so that an interrupted start-up still stops it. */
async function startRegistry(dir: string, port: number): Promise<RegistryProcess> {
  const policy = join(dir, 'promotion.json');
  // No approvals: the benchmark measures serving, not people.
  await writeFile(
    policy,
    JSON.stringify({ stages: { staging: { from: ['none'], approvals: 0 }, canary: { from: ['staging'], approvals: 0 }, production: { from: ['canary'], approvals: 0 } } }),
  );
  const database: Record<string, string> = process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {};
  return RegistryProcess.spawn({ dataDir: join(dir, 'data'), port, nodeArgs: SERVER_NODE_ARGS, env: { PROMOTION_POLICY: policy, GATE_POLL_MS: '100', ...database } });
}

/**
 * Registers two trained versions through the API, signed by a signer the registry trusts (production requires it), and
 * promotes them with real gates: 1.0.0 to production, 1.1.0 to a canary. Returns a reader token.
 */
async function servingModel(server: RegistryProcess, dir: string): Promise<string> {
  const training = classificationData({ seed: 7, count: 2_000 }).examples;
  const model = classifierModel(trainClassifier(training, { epochs: 200, learningRate: 0.5 }));
  const evaluation = jsonLines(classificationData({ seed: 8, count: 500 }).examples);
  await writeFile(join(dir, 'model.onnx'), model.bytes);
  await writeFile(join(dir, 'evaluation.jsonl'), evaluation);
  const releaseKey = await trustedSigningKey(server);

  await server.json('POST', '/v1/models', { name: 'bench' });
  await server.json('POST', '/v1/datasets', { name: 'bench-eval', version: '1', sha256: sha256(evaluation) });
  await server.putFile('/v1/datasets/bench-eval/1/file', join(dir, 'evaluation.jsonl'));
  const files = [{ path: 'model.onnx', sha256: sha256(model.bytes) }];
  for (const version of ['1.0.0', '1.1.0']) {
    const base = `/v1/models/bench/versions/${version}`;
    await server.json('POST', '/v1/models/bench/versions', {
      version,
      task: 'classification',
      schema: model.schema,
      datasets: [{ name: 'bench-eval', version: '1', role: 'evaluation' }],
    });
    for (const file of files) await server.putFile(`${base}/files/${file.path}`, join(dir, file.path), file.sha256);
    await server.json('POST', `${base}/commit`, { signature: signStatement(buildStatement('bench', files), releaseKey) });
    const validated = await until(
      async () => {
        const found = await server.json<{ status: string; gate: unknown }>('GET', base);
        return ['validated', 'rejected'].includes(found.status) ? found : undefined;
      },
      60_000,
      100,
    );
    if (validated.status !== 'validated') throw new Error(`bench@${version} was not validated: ${JSON.stringify(validated.gate)}`);
  }
  const promote = async (version: string, stage: string, trafficPercent?: number) => {
    const { id } = await server.json<{ id: string }>('POST', `/v1/models/bench/versions/${version}/promotions`, { stage, trafficPercent });
    const settled = await until(
      async () => {
        const promotion = await server.json<{ status: string; outcome: unknown }>('GET', `/v1/promotions/${id}`);
        return ['completed', 'rejected'].includes(promotion.status) ? promotion : undefined;
      },
      60_000,
      100,
    );
    if (settled.status !== 'completed') throw new Error(`promoting bench@${version} to ${stage} was rejected: ${JSON.stringify(settled.outcome)}`);
  };
  await promote('1.0.0', 'staging');
  await promote('1.0.0', 'canary', CANARY_PERCENT);
  await promote('1.0.0', 'production');
  await promote('1.1.0', 'staging');
  await promote('1.1.0', 'canary', CANARY_PERCENT);
  return (await server.json<{ token: string }>('POST', '/v1/tokens', { name: 'bench-reader', roles: ['reader'] })).token;
}

/** A fresh Ed25519 key, its public half trusted as a signer by the admin (POST /v1/signers), as a release pipeline would set up. */
async function trustedSigningKey(server: RegistryProcess) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  await server.json('POST', '/v1/signers', { name: 'bench-release', publicKey: publicKey.export({ type: 'spki', format: 'pem' }) });
  return privateKey;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function expectResolved(body: { model?: string; version?: string }): void {
  if (body.model !== 'bench' || !['1.0.0', '1.1.0'].includes(body.version ?? '')) throw new Error(`unexpected resolve answer: ${JSON.stringify(body)}`);
}

function best(runs: LoadResult[]): LoadResult {
  return runs.reduce((a, b) => (b.rps > a.rps ? b : a));
}

function report(bareRun: LoadResult, registryRun: LoadResult): void {
  const ratio = registryRun.rps / bareRun.rps;
  const met = ratio >= TARGET_RATIO;
  const line = (run: LoadResult) =>
    `${run.rps.toFixed(0)} req/s, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms (${run.responses} responses, ${run.errors} errors)`;
  const rows: [string, string][] = [
    ['load', `${CONNECTIONS} keep-alive connections on loopback, ${SECONDS} s per run, best of ${ROUNDS} alternating rounds`],
    ['database', process.env.BENCH_DATABASE_URL ? 'Postgres (BENCH_DATABASE_URL)' : 'embedded (PGlite)'],
    ['bare node:http, constant JSON', line(bareRun)],
    ['GET /v1/models/bench/resolve', line(registryRun)],
    ['ratio resolve / bare', `${ratio.toFixed(2)} (target >= ${TARGET_RATIO}: ${met ? 'met' : 'MISSED'})`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'resolve', connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, bare: bareRun, resolve: registryRun, ratio, met })}\n`);
}

runBench('resolve', main);
