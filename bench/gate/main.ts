/**
 * Gate benchmark: the evaluation check on a 20,000-example dataset, run
 * through the gate engine, against a bare onnxruntime-node loop over the same
 * JSON Lines file with the same batch size, in the same process and run.
 * Both read and parse the file, batch the inputs, run the model and count
 * correct predictions; the gate also computes macro-F1 and loss and writes
 * its report. Rounds alternate so drift in machine load hits both alike, and
 * each starts after a forced GC (node --expose-gc) so neither pays for the
 * other's garbage; medians of 21 rounds, since one round is only ~50 ms.
 *
 *   npm run bench:gate
 *   BENCH_EXAMPLES=50000 BENCH_BATCH=256 npm run bench:gate
 *   node --expose-gc dist/bench/gate/main.js --quick   # 2,000 examples, one round: does it still run?
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';
import { DEFAULT_GATE_SETTINGS, GATE_CHECKS, GateContext, GateEngine, type StagePolicy } from '@gatehouse/gate-engine';
import { classificationData, classifierModel, jsonLines, trainClassifier } from '../../test/fixtures/onnx-models';
import { QUICK, runBench, type BenchRun } from '../support/bench-run';

const EXAMPLES = Number(process.env.BENCH_EXAMPLES ?? (QUICK ? 2_000 : 20_000));
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 21));
const TARGET_RATIO = 1.1;

async function main({ dir }: BenchRun): Promise<void> {
  const training = classificationData({ seed: 7, count: 2_000 }).examples;
  const model = classifierModel(trainClassifier(training, { epochs: 200, learningRate: 0.5 }));
  const dataset = join(dir, 'evaluation.jsonl');
  await writeFile(join(dir, 'model.onnx'), model.bytes);
  await writeFile(dataset, jsonLines(classificationData({ seed: 8, count: EXAMPLES }).examples));

  const settings = { ...DEFAULT_GATE_SETTINGS, batchSize: BATCH };
  const evaluation = GATE_CHECKS.find((check) => check.id === 'evaluation')!;
  const policy: StagePolicy = {
    stage: 'registered',
    task: 'classification',
    settings,
    checks: [{ id: 'evaluation', severity: 'critical', thresholds: { ...evaluation.defaults } }],
  };
  const engine = new GateEngine(GATE_CHECKS);
  const throughGate = async () => {
    const context = new GateContext(
      {
        model: 'bench',
        version: '1.0.0',
        task: 'classification',
        declaredSchema: null,
        reportedMetrics: {},
        files: [{ path: 'model.onnx', sha256: null, size: model.bytes.length }],
      },
      dir,
      [{ role: 'evaluation', name: 'bench', path: dataset }],
      settings,
    );
    const report = await engine.run(context, policy);
    if (report.results[0].status !== 'passed') throw new Error(`the gate did not pass: ${report.results[0].message}`);
    return report.results[0].value as number;
  };
  const bare = () => bareLoop(join(dir, 'model.onnx'), dataset, BATCH);

  // Warm-up: page cache, onnxruntime's first session, V8's JIT.
  const [gateAccuracy, bareAccuracy] = [await throughGate(), await bare()];
  if (Math.abs(gateAccuracy - bareAccuracy) > 1e-12) throw new Error(`accuracies differ: gate ${gateAccuracy}, bare ${bareAccuracy}`);

  const gateTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bareTimes.push(await timed(bare));
    gateTimes.push(await timed(throughGate));
  }
  const gateMs = median(gateTimes);
  const bareMs = median(bareTimes);
  const ratio = gateMs / bareMs;
  process.stdout.write(
    [
      `dataset                              ${EXAMPLES} examples, batch ${BATCH}, accuracy ${gateAccuracy.toFixed(4)}`,
      `bare onnxruntime loop (median of ${ROUNDS})   ${bareMs.toFixed(1)} ms  (${((EXAMPLES / bareMs) * 1000).toFixed(0)} examples/s)`,
      `through the gate (median of ${ROUNDS})        ${gateMs.toFixed(1)} ms  (${((EXAMPLES / gateMs) * 1000).toFixed(0)} examples/s)`,
      `ratio gate / bare                    ${ratio.toFixed(3)} (target <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'})`,
      JSON.stringify({ bench: 'gate', examples: EXAMPLES, batch: BATCH, gateMs, bareMs, ratio, gateTimes, bareTimes }),
    ].join('\n') + '\n',
  );
}

/** The baseline: what anyone would write to score a classifier with onnxruntime-node over a JSON Lines file. */
async function bareLoop(modelPath: string, datasetPath: string, batchSize: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath);
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  let rows: { features: number[]; label: number }[] = [];
  let correct = 0;
  let total = 0;
  const flush = async () => {
    const width = rows[0].features.length;
    const data = new Float32Array(rows.length * width);
    rows.forEach((row, index) => data.set(row.features, index * width));
    const result = await session.run({ [input]: new ort.Tensor('float32', data, [rows.length, width]) });
    const scores = result[output].data as Float32Array;
    const classes = scores.length / rows.length;
    rows.forEach((row, index) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (scores[index * classes + c] > scores[index * classes + best]) best = c;
      if (best === row.label) correct++;
    });
    total += rows.length;
    rows = [];
  };
  for await (const line of createInterface({ input: createReadStream(datasetPath), crlfDelay: Infinity })) {
    if (!line) continue;
    const example = JSON.parse(line) as { inputs: { features: number[] }; label: number };
    rows.push({ features: example.inputs.features, label: example.label });
    if (rows.length === batchSize) await flush();
  }
  if (rows.length > 0) await flush();
  await session.release();
  return correct / total;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  // Collect the previous round's garbage first, so neither side pays for the other's.
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

runBench('gate', main);
