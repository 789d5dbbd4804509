/**
 * Canary-judge benchmark: how often the default analysis (DEFAULT_ANALYSIS_POLICY:
 * traffic steps 5, 25, 50 %, each baked for 5 one-minute intervals, judged
 * with DEFAULT_JUDGE_CRITERIA) rolls back a canary that is production itself,
 * one 20% slower and one with twice the error rate, and how many intervals
 * the rollbacks take. Each analysis is simulated interval by interval with
 * its own seed: a fleet serving SIMULATED_RPS requests per second, the
 * canary's share per the current step; log-normal latencies (median 40 ms,
 * σ 0.5) under a load factor shared by both versions that moves from
 * interval to interval (σ 0.15) and a small one of each version's own
 * (σ 0.02, its pods); errors at 1% that move with the load; two input
 * features and a class prediction, binned against a reference profile of
 * the same traffic. Each side's observations are folded into aggregates and
 * judged with judgeInterval, and advanceAnalysis decides. Targets: fewer
 * than 1% of identical canaries rolled back; at least 95% of the slower and
 * of the erring ones.
 *
 *   npm run bench:canary-judge
 *   BENCH_ANALYSES=100 npm run bench:canary-judge
 *   node dist/bench/canary-judge/main.js --quick   # 4 analyses of each kind: does it still run?
 */
import { SeededRandom } from '@gatehouse/onnx';
import {
  advanceAnalysis,
  DEFAULT_ANALYSIS_POLICY,
  emptyAggregate,
  foldObservations,
  judgeInterval,
  referenceProfile,
  startAnalysis,
  type AnalysisAction,
  type Observation,
  type ReferenceProfile,
} from '@gatehouse/canary-judge';
import { QUICK, runBench } from '../support/bench-run';
import { median } from '../support/measure';

const ANALYSES = Number(process.env.BENCH_ANALYSES ?? (QUICK ? 4 : 500));
const SIMULATED_RPS = 100;
const MEDIAN_LATENCY_MS = 40;
const LATENCY_SIGMA = 0.5;
const SHARED_LOAD_SIGMA = 0.15;
const VERSION_LOAD_SIGMA = 0.02;
const ERROR_RATE = 0.01;
const POSITIVE_SHARE = 0.3;

const KINDS = [
  { kind: 'identical', slower: 1, errors: 1, target: { rate: 0.01, below: true } },
  { kind: '20% slower', slower: 1.2, errors: 1, target: { rate: 0.95, below: false } },
  { kind: 'doubled errors', slower: 1, errors: 2, target: { rate: 0.95, below: false } },
] as const;

interface Version {
  slower: number;
  errors: number;
}

interface Outcome {
  action: AnalysisAction['type'] | 'running';
  intervals: number;
}

async function main(): Promise<void> {
  const policy = DEFAULT_ANALYSIS_POLICY;
  const profile = trafficProfile(new SeededRandom(1));
  const started = performance.now();
  const results = KINDS.map(({ kind, slower, errors, target }, kindIndex) => {
    const outcomes: Outcome[] = [];
    for (let analysis = 0; analysis < ANALYSES; analysis++) {
      outcomes.push(simulateAnalysis(new SeededRandom(1_000_003 * (kindIndex + 1) + analysis), { slower, errors }, profile));
      if (!QUICK && (analysis + 1) % 100 === 0) process.stderr.write(`${kind}: ${analysis + 1}/${ANALYSES} analyses, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
    const rolledBack = outcomes.filter(({ action }) => action === 'rollback');
    const rate = (action: Outcome['action']) => outcomes.filter((outcome) => outcome.action === action).length / ANALYSES;
    const intervalsToRollback = rolledBack.map(({ intervals }) => intervals);
    const rollbackRate = rolledBack.length / ANALYSES;
    return {
      kind,
      slower,
      errors,
      rollbackRate,
      passedRate: rate('passed'),
      pausedRate: rate('pause'),
      intervalsToRollback: intervalsToRollback.length === 0 ? null : { median: median(intervalsToRollback), p95: percentile(intervalsToRollback, 0.95) },
      target,
      met: target.below ? rollbackRate < target.rate : rollbackRate >= target.rate,
    };
  });
  const seconds = (performance.now() - started) / 1000;

  const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
  const { criteria, ...schedule } = policy;
  const lines = [
    `policy            ${JSON.stringify(schedule)}`,
    `criteria          ${JSON.stringify(criteria)}`,
    `traffic           ${SIMULATED_RPS} requests/s, log-normal latency (median ${MEDIAN_LATENCY_MS} ms, σ ${LATENCY_SIGMA}), load σ ${SHARED_LOAD_SIGMA} shared and ${VERSION_LOAD_SIGMA} per version, errors ${percent(ERROR_RATE)}`,
    `analyses          ${ANALYSES} of each kind in ${seconds.toFixed(0)} s`,
    ...results.map(
      (result) =>
        `${result.kind.padEnd(16)} rolled back ${percent(result.rollbackRate).padStart(6)}  passed ${percent(result.passedRate).padStart(6)}  paused ${percent(result.pausedRate).padStart(6)}  intervals to roll back: ${
          result.intervalsToRollback ? `median ${result.intervalsToRollback.median}, p95 ${result.intervalsToRollback.p95}` : 'none'
        }  (target ${result.target.below ? '<' : '>='} ${percent(result.target.rate)}: ${QUICK ? 'not judged' : result.met ? 'met' : 'MISSED'})`,
    ),
    JSON.stringify({
      bench: 'canary-judge',
      analyses: ANALYSES,
      seconds,
      policy: schedule,
      criteria,
      traffic: {
        rps: SIMULATED_RPS,
        medianLatencyMs: MEDIAN_LATENCY_MS,
        latencySigma: LATENCY_SIGMA,
        sharedLoadSigma: SHARED_LOAD_SIGMA,
        versionLoadSigma: VERSION_LOAD_SIGMA,
        errorRate: ERROR_RATE,
      },
      results,
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** One analysis from its start to a rollback, a pause or a pass, interval by interval. */
function simulateAnalysis(random: SeededRandom, canary: Version, profile: ReferenceProfile): Outcome {
  const policy = DEFAULT_ANALYSIS_POLICY;
  const production: Version = { slower: 1, errors: 1 };
  let state = startAnalysis(policy);
  while (state.status === 'running') {
    const requests = Math.round(SIMULATED_RPS * policy.intervalSeconds * Math.exp(0.1 * random.normal()));
    const canaryRequests = Math.round((requests * state.trafficPercent) / 100);
    const load = Math.exp(SHARED_LOAD_SIGMA * random.normal());
    const canaryAggregate = foldObservations(emptyAggregate(), observations(random, canaryRequests, load, canary), profile);
    const productionAggregate = foldObservations(emptyAggregate(), observations(random, requests - canaryRequests, load, production), profile);
    const step = advanceAnalysis(policy, state, judgeInterval(canaryAggregate, productionAggregate, profile, policy.criteria));
    state = step.state;
    if (step.action.type === 'rollback' || step.action.type === 'pause' || step.action.type === 'passed') return { action: step.action.type, intervals: state.intervals };
  }
  return { action: 'running', intervals: state.intervals };
}

/** One version's requests over an interval: its pods' own load on top of the fleet's. */
function observations(random: SeededRandom, count: number, load: number, version: Version): Observation[] {
  const scale = MEDIAN_LATENCY_MS * load * Math.exp(VERSION_LOAD_SIGMA * random.normal()) * version.slower;
  const errorRate = Math.min(1, ERROR_RATE * Math.sqrt(load) * version.errors);
  return Array.from({ length: count }, () => ({
    latencyMs: scale * Math.exp(LATENCY_SIGMA * random.normal()),
    error: random.next() < errorRate,
    prediction: { class: random.next() < POSITIVE_SHARE ? 1 : 0 },
    features: { amount: 50 * Math.exp(random.normal()), tenureMonths: Math.floor(60 * random.next()) },
  }));
}

/** A reference dataset of the same traffic: 2000 examples with the features and labels the simulated fleet sends. */
function trafficProfile(random: SeededRandom): ReferenceProfile {
  const examples = Array.from({ length: 2000 }, () => ({
    inputs: { amount: 50 * Math.exp(random.normal()), tenureMonths: Math.floor(60 * random.next()) },
    label: random.next() < POSITIVE_SHARE ? 1 : 0,
  }));
  return referenceProfile(examples, { task: 'classification' });
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

runBench('canary-judge', main);
