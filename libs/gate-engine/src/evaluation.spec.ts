import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxSession } from '@gatehouse/onnx';
import { jsonLines, logOfInputsModel, nanAtRuntimeModel, standardFixtures, type ModelFixture } from '../../../test/fixtures/onnx-models';
import { DatasetFormatError, evaluateDataset, readBatches, type MeasuredMetrics } from './evaluation';
import type { Task } from './terms';

describe('readBatches', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-batches-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function batchesOf(content: string, batchSize: number, maxExamples = 0) {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.jsonl`);
    await writeFile(path, content);
    const batches = [];
    for await (const batch of readBatches(path, { batchSize, maxExamples })) batches.push(batch);
    return batches;
  }

  it('batches rows with their line numbers, skipping blank lines and accepting CRLF and no final newline', async () => {
    const batches = await batchesOf('{"inputs":{"x":1},"label":0}\r\n\n   \r\n{"inputs":{"x":2},"label":1}\n{"inputs":{"x":3}}', 2);
    expect(batches.map((batch) => batch.map((row) => [row.line, row.inputs.x, row.label]))).toEqual([
      [
        [1, 1, 0],
        [4, 2, 1],
      ],
      [[5, 3, undefined]],
    ]);
  });

  it('reads rows that straddle read chunks, multi-byte characters and lines longer than a chunk intact', async () => {
    const text = 'é€😀'.repeat(20);
    const rows = Array.from({ length: 6000 }, (_, index) => ({ inputs: { index, text, long: index === 4000 ? 'x'.repeat(200_000) : '' } }));
    const batches = await batchesOf(rows.map((row) => JSON.stringify(row)).join('\n'), 64);
    const read = batches.flat();
    expect(read).toHaveLength(6000);
    expect(read.every((row, index) => row.inputs.index === index && row.inputs.text === text && row.line === index + 1)).toBe(true);
    expect((read[4000].inputs.long as string).length).toBe(200_000);
    expect(batches.slice(0, -1).every((batch) => batch.length === 64)).toBe(true);
  });

  it('stops after maxExamples', async () => {
    const batches = await batchesOf(Array.from({ length: 10 }, (_, x) => JSON.stringify({ inputs: { x } })).join('\n'), 4, 6);
    expect(batches.map((batch) => batch.length)).toEqual([4, 2]);
  });

  it('names the line that is not a JSON object with inputs', async () => {
    await expect(batchesOf('{"inputs":{}}\n{"inputs":', 8)).rejects.toThrow(new DatasetFormatError('line 2 is not valid JSON: Unexpected end of JSON input'));
    await expect(batchesOf('{"inputs":{}}\n\n[1]', 8)).rejects.toThrow('line 3 is not a JSON object');
    await expect(batchesOf('{"label":1}', 8)).rejects.toThrow('line 1 has no "inputs" object');
    await expect(batchesOf('{"inputs":{},"outputs":[1]}', 8)).rejects.toThrow('line 1: "outputs" must be an object keyed by output name');
  });
});

describe('evaluateDataset', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-evaluation-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Runs the real model over the rows in onnxruntime, in batches of 2 so a NaN example shares a batch with finite ones. */
  async function evaluate(fixture: ModelFixture, task: Task, rows: object[]): Promise<MeasuredMetrics> {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.jsonl`);
    await writeFile(path, jsonLines(rows));
    const session = await OnnxSession.load(fixture.bytes);
    try {
      return await evaluateDataset(session, path, task, { batchSize: 2 });
    } finally {
      await session.release();
    }
  }

  const example = (features: number[], label?: number) => ({ inputs: { features }, ...(label === undefined ? {} : { label }) });

  it('counts a NaN or Inf prediction wrong: a false negative of the true class, no class predicted, the loss at its floor', async () => {
    const measured = await evaluate(logOfInputsModel('classification', 2), 'classification', [
      example([0.9, 0.1], 0),
      example([0.2, 0.8], 1),
      example([0.7, 0.3], 1),
      // log(-1) is NaN: argmax over the row would have predicted class 0.
      example([-1, 0.5], 1),
      // log(0) is -Inf: argmax would have found the right class, but the output is not a finite prediction.
      example([2, 0], 0),
    ]);
    expect(measured).toMatchObject({ examples: 5, nonFinitePredictions: 2, accuracy: 2 / 5 });
    // Class 0: one right, one wrongly predicted for a 1, one missed (the -Inf row). Class 1: one right, two missed, never wrongly predicted.
    const f1 = (truePositive: number, falsePositive: number, falseNegative: number) => (2 * truePositive) / (2 * truePositive + falsePositive + falseNegative);
    expect(measured.macroF1).toBeCloseTo((f1(1, 1, 1) + f1(1, 0, 2)) / 2, 10);
    // Softmax over log(x) is x / sum(x); each non-finite row costs -ln(1e-12).
    expect(measured.loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8) + Math.log(0.3) + 2 * Math.log(1e-12)) / 5, 5);
  });

  it('gives an all-NaN classifier no credit for the majority class', async () => {
    const { classifier } = standardFixtures();
    const rows = classifier.evaluation.slice(0, 100).map((row, index) => ({ ...row, label: index < 85 ? 0 : 1 }));
    const measured = await evaluate(nanAtRuntimeModel(classifier.weights), 'classification', rows);
    expect(measured).toMatchObject({ examples: 100, nonFinitePredictions: 100, accuracy: 0, macroF1: 0 });
    expect(measured.loss).toBeCloseTo(-Math.log(1e-12), 10);
  });

  it('leaves non-finite regression predictions out of MAE and RMSE and counts them', async () => {
    const measured = await evaluate(logOfInputsModel('regression', 1), 'regression', [example([Math.E], 1.5), example([1], 0), example([-1], 3), example([0], 0)]);
    expect(measured).toMatchObject({ examples: 4, nonFinitePredictions: 2 });
    expect(measured.mae).toBeCloseTo(0.25, 6);
    expect(measured.rmse).toBeCloseTo(Math.sqrt(0.125), 6);
    expect(Number.isFinite(measured.loss)).toBe(true);
  });

  it('measures no error when every regression prediction is NaN, and counts NaN samples of a generative model without targets', async () => {
    const regression = await evaluate(logOfInputsModel('regression', 1), 'regression', [example([-1], 1), example([-2], 2)]);
    expect(regression).toEqual(expect.objectContaining({ examples: 2, nonFinitePredictions: 2 }));
    expect(regression.mae).toBeUndefined();
    const generative = await evaluate(logOfInputsModel('regression', 1), 'generative', [example([-1]), example([1]), example([2])]);
    expect(generative).toMatchObject({ examples: 3, nonFinitePredictions: 1 });
    expect(generative.loss).toBeUndefined();
  });
});
