import { createHash } from 'node:crypto';

/** One line of a dataset's JSON Lines file (DESIGN.md "API (v1)"), parsed. */
export interface ReferenceExample {
  inputs: Record<string, unknown>;
  label?: unknown;
  outputs?: Record<string, unknown>;
}

export type ProfileTask = 'classification' | 'regression';

export interface ReferenceProfileOptions {
  /** What the model predicts: classes (counted by key) or values (binned like a feature). */
  task: ProfileTask;
  /** The output holding the prediction, when examples carry `outputs`; the first output by default. */
  output?: string;
  /** Inputs with more elements than this (images, embeddings) are skipped, not profiled element by element. Default 16. */
  maxElements?: number;
  /** Quantile bins per feature: 10 (deciles) by default, fewer when values repeat. */
  bins?: number;
}

/**
 * A feature's binning: bin 0 holds values ≤ edges[0], bin i values in
 * (edges[i-1], edges[i]], the last bin values > the last edge. So there are
 * edges.length + 1 bins, and values beyond the reference's range still land
 * in the outer ones.
 */
export interface FeatureReference {
  edges: number[];
  /** How many reference values fell in each bin. */
  counts: number[];
}

export interface SkippedInput {
  name: string;
  /** too_large: more than maxElements; not_1d: a small tensor of two or more dimensions; not_numeric: strings, booleans, objects. */
  reason: 'too_large' | 'not_1d' | 'not_numeric';
  elements: number;
}

/** The reference distribution of predictions: from the examples' outputs where they have them, else from their labels. */
export type PredictionReference =
  { kind: 'classes'; source: 'outputs' | 'labels'; counts: Record<string, number> } | ({ kind: 'values'; source: 'outputs' | 'labels' } & FeatureReference);

/** What live traffic is compared with: plain JSON, storable as it is. */
export interface ReferenceProfile {
  /** Identifies the binning: aggregates folded against one profile merge only with aggregates of the same fingerprint. */
  fingerprint: string;
  task: ProfileTask;
  examples: number;
  /** Numeric features by name: a scalar input `x`, or `x[i]` for each element of a small 1-D input. */
  features: Record<string, FeatureReference>;
  /** Inputs not profiled, and why. */
  skipped: SkippedInput[];
  predictions: PredictionReference | null;
  /** The reference outputs scored against its labels, where examples have both: accuracy for classification. */
  accuracy: number | null;
  /** …and mean squared error for regression. */
  meanSquaredError: number | null;
}

export const DEFAULT_PROFILE_BINS = 10;
export const DEFAULT_MAX_PROFILED_ELEMENTS = 16;

/** Builds a reference profile from a dataset's examples (a reference or evaluation dataset). */
export function referenceProfile(examples: Iterable<ReferenceExample>, options: ReferenceProfileOptions): ReferenceProfile {
  const maxElements = options.maxElements ?? DEFAULT_MAX_PROFILED_ELEMENTS;
  const bins = options.bins ?? DEFAULT_PROFILE_BINS;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, not ${bins}`);

  const featureValues = new Map<string, number[]>();
  const skipped = new Map<string, SkippedInput>();
  const predictionKeys: string[] = [];
  const predictionValues: number[] = [];
  let predictionSource: 'outputs' | 'labels' | null = null;
  let labelled = 0;
  let correct = 0;
  let squaredErrorSum = 0;
  let count = 0;

  for (const example of examples) {
    count++;
    for (const [name, value] of Object.entries(example.inputs ?? {})) {
      if (skipped.has(name)) continue;
      const shape = featureShape(value, maxElements);
      if ('reason' in shape) {
        skipped.set(name, { name, ...shape });
        for (const key of [...featureValues.keys()]) if (key === name || key.startsWith(`${name}[`)) featureValues.delete(key);
        continue;
      }
      shape.values.forEach((element, index) => {
        if (!Number.isFinite(element)) return;
        const feature = shape.scalar ? name : `${name}[${index}]`;
        let values = featureValues.get(feature);
        if (!values) featureValues.set(feature, (values = []));
        values.push(element);
      });
    }

    const output = predictionOutput(example, options.output);
    const label = example.label;
    const source = output !== undefined ? 'outputs' : label !== undefined ? 'labels' : null;
    if (source === null) continue;
    // One source for the whole profile: the first example's decides.
    predictionSource ??= source;
    const predicted = predictionSource === 'outputs' ? output : label;
    if (options.task === 'classification') {
      const key = classKey(predicted);
      if (key !== null) predictionKeys.push(key);
      const labelKey = classKey(label);
      if (output !== undefined && labelKey !== null && key !== null) {
        labelled++;
        if (key === labelKey) correct++;
      }
    } else {
      const value = scalarValue(predicted);
      if (value !== null) predictionValues.push(value);
      const outputValue = scalarValue(output);
      const labelValue = scalarValue(label);
      if (outputValue !== null && labelValue !== null) {
        labelled++;
        squaredErrorSum += (outputValue - labelValue) ** 2;
      }
    }
  }

  const features: Record<string, FeatureReference> = {};
  for (const name of [...featureValues.keys()].sort()) features[name] = quantileBinning(featureValues.get(name)!, bins);

  let predictions: PredictionReference | null = null;
  if (predictionSource !== null && options.task === 'classification' && predictionKeys.length > 0) {
    const counts: Record<string, number> = {};
    for (const key of predictionKeys.sort()) counts[key] = (counts[key] ?? 0) + 1;
    predictions = { kind: 'classes', source: predictionSource, counts };
  } else if (predictionSource !== null && options.task === 'regression' && predictionValues.length > 0) {
    predictions = { kind: 'values', source: predictionSource, ...quantileBinning(predictionValues, bins) };
  }

  const binning = {
    features: Object.entries(features).map(([name, { edges }]) => [name, edges]),
    predictions: predictions && ('edges' in predictions ? predictions.edges : predictions.kind),
  };
  return {
    fingerprint: createHash('sha256').update(JSON.stringify(binning)).digest('hex').slice(0, 16),
    task: options.task,
    examples: count,
    features,
    skipped: [...skipped.values()].sort((a, b) => a.name.localeCompare(b.name)),
    predictions,
    accuracy: options.task === 'classification' && labelled > 0 ? correct / labelled : null,
    meanSquaredError: options.task === 'regression' && labelled > 0 ? squaredErrorSum / labelled : null,
  };
}

/** The bin a value falls in against `edges` (see FeatureReference): how many edges lie below it. */
export function binIndex(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (edges[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * A class's key: a string or number as written; an array of scores (or a
 * one-hot label) by its largest element; a single number in [0, 1] that is
 * not a whole number as a binary probability (1 from 0.5 up). Null for
 * anything else.
 */
export function classKey(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (!Array.isArray(value)) return null;
  const scores = flatNumbers(value);
  if (scores === null || scores.length === 0 || !scores.every(Number.isFinite)) return null;
  if (scores.length === 1) {
    const [score] = scores;
    return Number.isInteger(score) || score < 0 || score > 1 ? String(score) : score >= 0.5 ? '1' : '0';
  }
  let best = 0;
  for (let index = 1; index < scores.length; index++) if (scores[index] > scores[best]) best = index;
  return String(best);
}

/** Deciles (or `bins` quantiles) of the values as edges, repeated edges and edges at or above the maximum dropped. */
function quantileBinning(values: number[], bins: number): FeatureReference {
  const sorted = Float64Array.from(values).sort();
  const maximum = sorted[sorted.length - 1];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = sorted[Math.ceil((k * sorted.length) / bins) - 1];
    if (edge < maximum && edge !== edges[edges.length - 1]) edges.push(edge);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of sorted) counts[binIndex(edges, value)]++;
  return { edges, counts };
}

type FeatureShape = { scalar: boolean; values: number[] } | Omit<SkippedInput, 'name'>;

function featureShape(value: unknown, maxElements: number): FeatureShape {
  if (typeof value === 'number') return { scalar: true, values: [value] };
  if (!Array.isArray(value)) return { reason: 'not_numeric', elements: 1 };
  const values = flatNumbers(value);
  if (values === null) return { reason: 'not_numeric', elements: value.length };
  if (values.length > maxElements) return { reason: 'too_large', elements: values.length };
  if (!value.every((element) => typeof element === 'number')) return { reason: 'not_1d', elements: values.length };
  return { scalar: false, values };
}

/** The numbers of a nested array, in order; null if anything in it is not a number. */
function flatNumbers(value: unknown[]): number[] | null {
  const flat = value.flat(Infinity);
  return flat.every((element) => typeof element === 'number') ? flat : null;
}

function predictionOutput(example: ReferenceExample, output: string | undefined): unknown {
  const outputs = example.outputs;
  if (!outputs) return undefined;
  return outputs[output ?? Object.keys(outputs)[0]];
}

/** A number, or the one number of a one-element array; null otherwise. */
function scalarValue(value: unknown): number | null {
  const single = Array.isArray(value) ? flatNumbers(value) : [value];
  return single !== null && single.length === 1 && typeof single[0] === 'number' && Number.isFinite(single[0]) ? single[0] : null;
}
