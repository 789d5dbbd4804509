/**
 * Regression-noise benchmark: how often baseline_latency refuses, on a host
 * with one core kept busy (a spinning child process for the whole run), a
 * candidate that is the production model itself (the same bytes in a file
 * of its own, as at a promotion), one doing 1.2× its work and one doing
 * 1.5×: a chain of MatMul+Tanh layers on a [16, 256] activation, the slower
 * ones with 1.2× and 1.5× the layers. Each comparison is the check itself
 * on gate contexts, with the canary stage's thresholds from
 * config/gates.json (maxP95Ratio 1.1) over the check's defaults; the three
 * kinds take turns, so drift in the host's load hits all alike. Targets:
 * at most 1% of identical candidates refused, at least 90% at 1.2×, at
 * least 99% at 1.5×. Straddling intervals warn, which does not refuse.
 *
 *   npm run bench:regression-noise
 *   BENCH_COMPARISONS=50 npm run bench:regression-noise
 *   BENCH_LAYERS=96 npm run bench:regression-noise     # a model twice as slow
 *   node dist/bench/regression-noise/main.js --quick   # 3 comparisons each of a 12-layer model: does it still run?
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import { SeededRandom } from '@gatehouse/onnx';
import { GATE_CHECKS, GateContext, GatePolicy, type CheckResult, type GateBaseline } from '@gatehouse/gate-engine';
import { QUICK, runBench, type BenchRun } from '../support/bench-run';

const COMPARISONS = Number(process.env.BENCH_COMPARISONS ?? (QUICK ? 3 : 200));
/** Layers of the production model: about 1.3 ms of CPU per run, where one more fifth of work is not yet lost in the host's noise and 600 comparisons take ~10 minutes of CPU. */
const LAYERS = Number(process.env.BENCH_LAYERS ?? (QUICK ? 12 : 48));
const ROWS = 16;
const WIDTH = 256;
const POLICY = resolve(__dirname, '../../../config/gates.json');

const KINDS = [
  { kind: 'identical', work: 1, target: { rate: 0.01, atMost: true } },
  { kind: '1.2x', work: 1.2, target: { rate: 0.9, atMost: false } },
  { kind: '1.5x', work: 1.5, target: { rate: 0.99, atMost: false } },
] as const;

type Tally = Record<CheckResult['status'], number> & { ratios: number[]; widths: number[] };

async function main({ dir, onEnd }: BenchRun): Promise<void> {
  const spinner = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
  onEnd(() => spinner.kill('SIGKILL'));

  const policy = GatePolicy.load(POLICY, GATE_CHECKS).resolve('canary', 'regression');
  const entry = policy.checks.find((check) => check.id === 'baseline_latency');
  if (!entry) throw new Error(`${POLICY}'s canary stage does not run baseline_latency`);
  const check = GATE_CHECKS.find((candidate) => candidate.id === 'baseline_latency')!;

  const production = await versionIn(join(dir, 'production'), '1.0.0', chainModel(LAYERS));
  const candidates = await Promise.all(KINDS.map(({ kind, work }, index) => versionIn(join(dir, kind), `1.${index + 1}.0`, chainModel(Math.round(LAYERS * work)))));

  const loadAtStart = loadavg()[0];
  const tallies = KINDS.map((): Tally => ({ passed: 0, warning: 0, failed: 0, skipped: 0, error: 0, ratios: [], widths: [] }));
  const started = performance.now();
  for (let comparison = 0; comparison < COMPARISONS; comparison++) {
    for (const [index, candidate] of candidates.entries()) {
      const context = new GateContext(candidate.subject, candidate.workspace, [], policy.settings, production);
      try {
        const outcome = await check.run(context, entry.thresholds);
        if (outcome.status === 'error' || outcome.status === 'skipped') throw new Error(`baseline_latency did not compare: ${outcome.message}`);
        const interval = outcome.details?.interval as { low: number; high: number };
        const tally = tallies[index];
        tally[outcome.status]++;
        tally.ratios.push(outcome.value as number);
        tally.widths.push(interval.high - interval.low);
      } finally {
        await context.dispose();
      }
    }
    if (!QUICK && (comparison + 1) % 20 === 0) process.stderr.write(`${comparison + 1}/${COMPARISONS} comparisons, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  const seconds = (performance.now() - started) / 1000;

  const results = KINDS.map(({ kind, work, target }, index) => {
    const tally = tallies[index];
    const refused = tally.failed / COMPARISONS;
    const met = target.atMost ? refused <= target.rate : refused >= target.rate;
    return {
      kind,
      work,
      refused,
      warned: tally.warning / COMPARISONS,
      passed: tally.passed / COMPARISONS,
      medianRatio: median(tally.ratios),
      medianWidth: median(tally.widths),
      target,
      met,
    };
  });
  const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
  const lines = [
    `model             ${LAYERS} MatMul+Tanh layers on [${ROWS}, ${WIDTH}]; thresholds ${JSON.stringify(entry.thresholds)}`,
    `comparisons       ${COMPARISONS} of each kind in ${seconds.toFixed(0)} s, one core kept busy (load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end)`,
    ...results.map(
      (result) =>
        `${result.kind.padEnd(10)} refused ${percent(result.refused).padStart(6)}  warned ${percent(result.warned).padStart(6)}  passed ${percent(result.passed).padStart(6)}  median p95 ratio ${result.medianRatio.toFixed(3)}, interval width ${result.medianWidth.toFixed(3)}  (target ${result.target.atMost ? '<=' : '>='} ${percent(result.target.rate)}: ${QUICK ? 'not judged' : result.met ? 'met' : 'MISSED'})`,
    ),
    JSON.stringify({
      bench: 'regression-noise',
      comparisons: COMPARISONS,
      layers: LAYERS,
      seconds,
      loadAverage: [loadAtStart, loadavg()[0]],
      thresholds: entry.thresholds,
      results,
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** A version's directory with its model file, as the gate worker lays one out. */
async function versionIn(workspace: string, version: string, bytes: Uint8Array): Promise<GateBaseline> {
  await mkdir(workspace, { recursive: true });
  await writeFile(join(workspace, 'model.onnx'), bytes);
  return {
    subject: { model: 'bench', version, task: 'regression', declaredSchema: null, reportedMetrics: {}, files: [{ path: 'model.onnx', sha256: null, size: bytes.length }] },
    workspace,
  };
}

/**
 * x [batch, 16·256] -> [16·batch, 256] -> `layers` × (MatMul by one shared
 * [256, 256] weight, Tanh) -> [batch, 16·256]. Each layer is the same
 * 2 MFLOP of work on weights that stay in cache, so the work, and the time,
 * grow with the layers; the same layers give the same bytes.
 */
function chainModel(layers: number): Uint8Array {
  const random = new SeededRandom(16);
  const weight = Float32Array.from({ length: WIDTH * WIDTH }, () => random.normal() / Math.sqrt(WIDTH));
  const float = onnx.TensorProto.DataType.FLOAT;
  const shape = (name: string, dims: number[]): onnx.ITensorProto => ({ name, dims: [dims.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: dims });
  const nodes: onnx.INodeProto[] = [{ opType: 'Reshape', input: ['x', 'rows'], output: ['h0'], name: 'reshape_in' }];
  for (let layer = 1; layer <= layers; layer++) {
    nodes.push(
      { opType: 'MatMul', input: [`h${layer - 1}`, 'weight'], output: [`m${layer}`], name: `matmul_${layer}` },
      { opType: 'Tanh', input: [`m${layer}`], output: [`h${layer}`], name: `tanh_${layer}` },
    );
  }
  nodes.push({ opType: 'Reshape', input: [`h${layers}`, 'examples'], output: ['y'], name: 'reshape_out' });
  const io = (name: string): onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: float, shape: { dim: [{ dimParam: 'batch' }, { dimValue: ROWS * WIDTH }] } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'gatehouse-bench',
    graph: {
      name: 'chain',
      input: [io('x')],
      output: [io('y')],
      initializer: [
        { name: 'weight', dims: [WIDTH, WIDTH], dataType: float, rawData: new Uint8Array(weight.buffer) },
        shape('rows', [-1, WIDTH]),
        shape('examples', [-1, ROWS * WIDTH]),
      ],
      node: nodes,
    },
  }).finish();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

runBench('regression-noise', main);
