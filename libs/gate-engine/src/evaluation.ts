import { createReadStream } from 'node:fs';
import { stackExamples, tensorValues, type Feeds, type OnnxSession, type TensorSpec } from '@gatehouse/onnx';
import type { Task } from './terms';

/** The dataset itself is wrong (bad JSON, a missing input, a label of the wrong kind): the registrant's problem, not ours. */
export class DatasetFormatError extends Error {}

/** A JSON Lines example, as DESIGN.md defines it. */
interface DatasetRow {
  line: number;
  inputs: Record<string, unknown>;
  label?: unknown;
  outputs?: Record<string, unknown>;
}

/** Metrics measured by running the model over a dataset. Absent ones don't apply to the task or the data. */
export interface MeasuredMetrics {
  examples: number;
  batches: number;
  /** The output the metrics were computed from. */
  output: string;
  /**
   * Examples whose prediction holds a NaN or an Inf. Such a prediction names no
   * class: classification counts it wrong (a false negative of the true class),
   * and at the probability floor in the loss; regression leaves it out of MAE,
   * RMSE and loss, which then cover the finite predictions only. Any at all
   * fails the checks that use these metrics.
   */
  nonFinitePredictions: number;
  accuracy?: number;
  macroF1?: number;
  mae?: number;
  rmse?: number;
  loss?: number;
  durationMs: number;
}

export interface ReferenceComparison {
  examples: number;
  maxAbsDiff: number;
  /** Where the largest difference is: line of the dataset, output name, flat index within the example. */
  worst: { line: number; output: string; index: number; expected: number; actual: number } | null;
}

export interface BatchOptions {
  batchSize: number;
  /** Stop after this many examples; 0 reads them all. */
  maxExamples?: number;
  /** Stops between batches once aborted. */
  signal?: AbortSignal;
}

/** Reads a JSON Lines dataset in batches, without holding more than one batch of rows. */
export async function* readBatches(path: string, options: BatchOptions): AsyncGenerator<DatasetRow[]> {
  let batch: DatasetRow[] = [];
  let lineNumber = 0;
  let taken = 0;
  for await (const lines of readLines(path)) {
    for (const text of lines) {
      lineNumber++;
      // Blank lines are allowed; trimming only lines that start with whitespace keeps a copy off the hot path.
      if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === '')) continue;
      batch.push(parseRow(text, lineNumber));
      taken++;
      if (batch.length === options.batchSize) {
        options.signal?.throwIfAborted();
        yield batch;
        batch = [];
      }
      if (options.maxExamples && taken >= options.maxExamples) break;
    }
    if (options.maxExamples && taken >= options.maxExamples) break;
  }
  if (batch.length > 0) yield batch;
}

/**
 * The file's lines (a trailing \r removed), a chunk's worth at a time. One await per
 * 64 KiB chunk rather than per line, as readline costs: on small models reading
 * the dataset is most of an evaluation. The stream decodes UTF-8 across chunk ends.
 */
async function* readLines(path: string): AsyncGenerator<string[]> {
  let partial = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    const text = partial + (chunk as string);
    const lines: string[] = [];
    let start = 0;
    // The carried-over part holds no newline: searching past it keeps a long line from being rescanned per chunk.
    for (let end = text.indexOf('\n', partial.length); end !== -1; end = text.indexOf('\n', start)) {
      lines.push(text.slice(start, text.charCodeAt(end - 1) === 0x0d && end > start ? end - 1 : end));
      start = end + 1;
    }
    partial = text.slice(start);
    if (lines.length > 0) yield lines;
  }
  if (partial.length > 0) yield [partial.endsWith('\r') ? partial.slice(0, -1) : partial];
}

function parseRow(text: string, line: number): DatasetRow {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch (error) {
    throw new DatasetFormatError(`line ${line} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new DatasetFormatError(`line ${line} is not a JSON object`);
  const { inputs, label, outputs } = row as Record<string, unknown>;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw new DatasetFormatError(`line ${line} has no "inputs" object`);
  if (outputs !== undefined && (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs))) {
    throw new DatasetFormatError(`line ${line}: "outputs" must be an object keyed by output name`);
  }
  return { line, inputs: inputs as Record<string, unknown>, label, outputs: outputs as Record<string, unknown> | undefined };
}

/** The model's inputs for a batch of rows, stacked along a new leading dimension. */
export function feedsFor(session: OnnxSession, rows: DatasetRow[]): Feeds {
  const feeds: Feeds = {};
  for (const spec of session.inputs) {
    const values = rows.map((row) => {
      const value = row.inputs[spec.name];
      if (value === undefined)
        throw new DatasetFormatError(`line ${row.line} has no input "${spec.name}" (the model's inputs: ${session.inputs.map((input) => input.name).join(', ')})`);
      return value;
    });
    try {
      feeds[spec.name] = stackExamples(spec, values, rows[0].line);
    } catch (error) {
      throw new DatasetFormatError((error as Error).message.replace(/^example (\d+)/, 'line $1'));
    }
  }
  return feeds;
}

/** Runs the model over every example and measures the task's metrics from its first output. */
export async function evaluateDataset(session: OnnxSession, path: string, task: Task, options: BatchOptions): Promise<MeasuredMetrics> {
  const started = performance.now();
  const output = session.outputs[0];
  const accumulator = task === 'classification' ? new ClassificationMetrics() : new RegressionMetrics(task === 'regression');
  let batches = 0;
  for await (const rows of readBatches(path, options)) {
    const fetched = await session.run(feedsFor(session, rows));
    const values = tensorValues(fetched[output.name]);
    const perExample = values.length / rows.length;
    rows.forEach((row, index) => accumulator.add(row, values.subarray(index * perExample, (index + 1) * perExample), output));
    batches++;
  }
  return { ...accumulator.result(), batches, output: output.name, durationMs: performance.now() - started };
}

/** The largest absolute difference between the model's outputs and the reference outputs recorded with the data. */
export async function compareWithReference(session: OnnxSession, path: string, options: BatchOptions): Promise<ReferenceComparison> {
  let examples = 0;
  let maxAbsDiff = 0;
  let worst: ReferenceComparison['worst'] = null;
  for await (const rows of readBatches(path, options)) {
    const fetched = await session.run(feedsFor(session, rows));
    rows.forEach((row, rowIndex) => {
      if (!row.outputs || Object.keys(row.outputs).length === 0) throw new DatasetFormatError(`line ${row.line} has no "outputs" to compare with`);
      for (const [name, expected] of Object.entries(row.outputs)) {
        const tensor = fetched[name];
        if (!tensor)
          throw new DatasetFormatError(`line ${row.line} names output "${name}", which the model does not have (it has: ${session.outputs.map((o) => o.name).join(', ')})`);
        const all = tensorValues(tensor);
        const perExample = all.length / rows.length;
        const actual = all.subarray(rowIndex * perExample, (rowIndex + 1) * perExample);
        const wanted: unknown[] = [expected].flat(Infinity);
        if (wanted.length !== actual.length)
          throw new DatasetFormatError(`line ${row.line}: output "${name}" has ${actual.length} values per example, the reference has ${wanted.length}`);
        wanted.forEach((value, index) => {
          if (typeof value !== 'number') throw new DatasetFormatError(`line ${row.line}: reference output "${name}" holds ${JSON.stringify(value)}, not a number`);
          // NaN compares false with everything: count it as an infinite difference so it cannot pass.
          const difference = Number.isNaN(actual[index]) ? Infinity : Math.abs(actual[index] - value);
          if (worst === null || difference > maxAbsDiff) {
            maxAbsDiff = difference;
            worst = { line: row.line, output: name, index, expected: value, actual: actual[index] };
          }
        });
      }
      examples++;
    });
  }
  return { examples, maxAbsDiff, worst };
}

interface MetricsAccumulator {
  add(row: DatasetRow, values: Float64Array, output: TensorSpec): void;
  result(): Omit<MeasuredMetrics, 'batches' | 'output' | 'durationMs'>;
}

/** The probability cross-entropy gives a class the output rules out, so one such example costs a bounded -ln(1e-12) ≈ 27.6 rather than Infinity. */
const PROBABILITY_FLOOR = 1e-12;

/** Accuracy, macro-F1 over the classes seen, and cross-entropy where the output is a distribution or logits. */
class ClassificationMetrics implements MetricsAccumulator {
  private examples = 0;
  private correct = 0;
  private nonFinite = 0;
  private lossSum = 0;
  private lossCount = 0;
  private readonly counts = new Map<number, { truePositive: number; falsePositive: number; falseNegative: number }>();

  add(row: DatasetRow, values: Float64Array, output: TensorSpec): void {
    const label = row.label;
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0) {
      throw new DatasetFormatError(`line ${row.line}: a classification label must be a class index (a whole number ≥ 0), not ${JSON.stringify(label)}`);
    }
    // argmax over a NaN row would pick class 0: an all-NaN model would score the share of class 0.
    const finite = allFinite(values);
    const predicted = !finite ? null : values.length === 1 && !output.dtype.startsWith('float') ? values[0] : argmax(values);
    this.examples++;
    if (!finite) this.nonFinite++;
    if (predicted === label) {
      this.correct++;
      this.count(label).truePositive++;
    } else {
      this.count(label).falseNegative++;
      if (predicted !== null) this.count(predicted).falsePositive++;
    }
    if (values.length > 1 && label < values.length) {
      this.lossSum += -Math.log(Math.max(finite ? probabilityOf(values, label) : 0, PROBABILITY_FLOOR));
      this.lossCount++;
    }
  }

  result() {
    if (this.examples === 0) return { examples: 0, nonFinitePredictions: 0 };
    let f1Sum = 0;
    for (const { truePositive, falsePositive, falseNegative } of this.counts.values()) {
      const denominator = 2 * truePositive + falsePositive + falseNegative;
      f1Sum += denominator === 0 ? 0 : (2 * truePositive) / denominator;
    }
    return {
      examples: this.examples,
      nonFinitePredictions: this.nonFinite,
      accuracy: this.correct / this.examples,
      macroF1: f1Sum / this.counts.size,
      loss: this.lossCount > 0 ? this.lossSum / this.lossCount : undefined,
    };
  }

  private count(label: number) {
    let entry = this.counts.get(label);
    if (!entry) this.counts.set(label, (entry = { truePositive: 0, falsePositive: 0, falseNegative: 0 }));
    return entry;
  }
}

/** MAE, RMSE and mean squared error as the loss, over the finite predictions; a generative dataset without labels measures only how many were not finite. */
class RegressionMetrics implements MetricsAccumulator {
  private examples = 0;
  private nonFinite = 0;
  private values = 0;
  private absoluteSum = 0;
  private squaredSum = 0;

  constructor(private readonly labelsRequired: boolean) {}

  add(row: DatasetRow, values: Float64Array): void {
    this.examples++;
    const finite = allFinite(values);
    if (!finite) this.nonFinite++;
    if (row.label === undefined && !this.labelsRequired) return;
    const label: unknown[] = [row.label].flat(Infinity);
    if (label.length !== values.length || label.some((value) => typeof value !== 'number')) {
      throw new DatasetFormatError(
        `line ${row.line}: the label must be ${values.length === 1 ? 'a number' : `${values.length} numbers`} like the model's output, not ${JSON.stringify(row.label)}`,
      );
    }
    // A NaN would make MAE NaN, which compares false with every threshold: it is counted instead.
    if (!finite) return;
    label.forEach((expected, index) => {
      const error = values[index] - (expected as number);
      this.absoluteSum += Math.abs(error);
      this.squaredSum += error * error;
      this.values++;
    });
  }

  result() {
    const counted = { examples: this.examples, nonFinitePredictions: this.nonFinite };
    if (this.values === 0) return counted;
    const mse = this.squaredSum / this.values;
    return { ...counted, mae: this.absoluteSum / this.values, rmse: Math.sqrt(mse), loss: mse };
  }
}

function allFinite(values: Float64Array): boolean {
  for (const value of values) if (!Number.isFinite(value)) return false;
  return true;
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** The probability the output gives `label`: read as is if the output already sums to one, otherwise through a softmax. */
function probabilityOf(values: Float64Array, label: number): number {
  let sum = 0;
  let max = -Infinity;
  let inRange = true;
  for (const value of values) {
    sum += value;
    if (value > max) max = value;
    if (value < 0 || value > 1) inRange = false;
  }
  if (inRange && Math.abs(sum - 1) < 1e-3) return values[label];
  let total = 0;
  for (const value of values) total += Math.exp(value - max);
  return Math.exp(values[label] - max) / total;
}
