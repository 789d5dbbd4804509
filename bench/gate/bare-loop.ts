/**
 * The gate benchmark's baseline: what anyone would write to score a
 * classifier with onnxruntime-node over a JSON Lines file. Run as a program
 * (`node bare-loop.js MODEL DATASET BATCH`), it is the baseline for the
 * sandboxed gate: a fresh node process that loads only onnxruntime.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';

/** The baseline: what anyone would write to score a classifier with onnxruntime-node over a JSON Lines file. */
export async function bareLoop(modelPath: string, datasetPath: string, batchSize: number): Promise<number> {
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

if (require.main === module) {
  const [modelPath, datasetPath, batchSize] = process.argv.slice(2);
  void bareLoop(modelPath, datasetPath, Number(batchSize)).then((accuracy) => process.stdout.write(`${accuracy}\n`));
}
