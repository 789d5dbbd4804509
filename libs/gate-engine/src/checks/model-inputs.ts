import { float16Bits, repeatAlong, type Feeds, type OnnxSession, type ProbeInput } from '@gatehouse/onnx';
import { DatasetFormatError } from '../evaluation';
import type { GateContext } from '../gate-context';
import { readInputExamples, type InputExample } from '../input-examples';
import { resolveInputs, synthesizedFeeds } from './synthesized-inputs';

/** Input examples read per run: enough to show a NaN that only some inputs reach, few enough to keep a run short. */
export const MAX_INPUT_EXAMPLES = 100;

/**
 * Sizes tried, after `settings.defaultDimension`, for symbolic dimensions that
 * are neither the batch nor named in `settings.dimensions`, until the model
 * runs: STFT frames, reflect padding and strided stacks need more than a few.
 */
const DIMENSION_LADDER = [16, 64, 256, 1024, 4096, 16_384];
/** No synthesised input grows beyond this many elements while sizes are tried. */
const MAX_SYNTHESISED_ELEMENTS = 1 << 24;

/** What a check ran the model on: the version's input examples, or inputs synthesised from its metadata. */
export interface ModelFeeds {
  source: 'examples' | 'synthesised';
  feeds: Feeds[];
  /** Each feed's name in a message: its line in the examples, or `synthesised`. */
  labels: string[];
  /** Each feed's input shapes, for the report. */
  shapes: Record<string, number[]>[];
  /** What each symbolic dimension became (synthesised inputs). */
  bindings: Record<string, number>;
  /** In words, for a check's message and details: which examples, or which sizes were chosen and why. */
  description: string;
}

/** Synthesised inputs could not run the model at any size tried: the model's own error, and every size tried. */
export class SynthesisedRunError extends Error {
  constructor(
    readonly attempts: { dimension: number; error: string }[],
    readonly bindings: Record<string, number>,
  ) {
    super(`the model fails on synthesised inputs: ${attempts[0]?.error ?? 'no size could be tried'}`);
    this.name = 'SynthesisedRunError';
  }
}

interface ContextInputs {
  examples?: Promise<InputExample[] | null>;
  dimension?: Promise<{ dimension: number; attempts: { dimension: number; error: string }[] }>;
}
const cache = new WeakMap<GateContext, ContextInputs>();

function cached(context: GateContext): ContextInputs {
  let entry = cache.get(context);
  if (!entry) cache.set(context, (entry = {}));
  return entry;
}

/**
 * The inputs a check runs the model on. A version's input examples (role
 * `example`) come first: `all` of them, or the first for timing and memory.
 * Without them, inputs are synthesised at `batchSize`, with a size for the
 * unnamed symbolic dimensions that the model has been seen to run at.
 */
export async function modelFeeds(context: GateContext, session: OnnxSession, options: { batchSize: number; all?: boolean }): Promise<ModelFeeds> {
  const examples = await inputExamples(context, session);
  if (examples) {
    const used = options.all ? examples : examples.slice(0, 1);
    const dataset = context.dataset('example')!;
    const lines = used.length === 1 ? `line ${used[0].line}` : `${used.length} examples, lines ${used[0].line}–${used[used.length - 1].line}`;
    const feeds = options.all ? used.map((example) => example.feeds) : [atBatchSize(context, session, used[0].feeds, options.batchSize)];
    return {
      source: 'examples',
      feeds,
      labels: used.map((example) => `example line ${example.line}`),
      shapes: feeds.map((feed) => Object.fromEntries(Object.entries(feed).map(([name, tensor]) => [name, [...tensor.dims]]))),
      bindings: {},
      description: `input examples ${dataset.name} (${lines})`,
    };
  }
  const { dimension, attempts } = await workingDimension(context, session);
  const { inputs, bindings } = resolveInputs(context, session, options.batchSize, dimension);
  const shapes = Object.fromEntries(inputs.map((input) => [input.name, input.shape]));
  const tried = attempts.length > 0 ? `; ${attempts.map((attempt) => attempt.dimension).join(', ')} failed first (${attempts[0].error})` : '';
  return {
    source: 'synthesised',
    feeds: [synthesizedFeeds(context, inputs)],
    labels: ['synthesised inputs'],
    shapes: [shapes],
    bindings,
    description: `synthesised inputs ${inputs.map((input) => `${input.name} ${JSON.stringify(input.shape)}`).join(', ')} (unnamed dimensions ${dimension}${tried})`,
  };
}

/**
 * An example of batch one as a batch of `batchSize`: each input repeated
 * along the axis that follows the batch (the leading one, or wherever the
 * batch symbol sits, as in a state tensor [2, batch, 128]). Inputs with no
 * such axis, and examples whose batch does not divide the size, stay as given.
 */
function atBatchSize(context: GateContext, session: OnnxSession, feeds: Feeds, batchSize: number): Feeds {
  if (batchSize === 1) return feeds;
  const [one, two] = [1, 2].map((size) => resolveInputs(context, session, size).inputs);
  return Object.fromEntries(
    Object.entries(feeds).map(([name, tensor]) => {
      const index = one.findIndex((input) => input.name === name);
      const axis = index < 0 ? -1 : one[index].shape.findIndex((dim, position) => dim !== two[index].shape[position]);
      const given = axis < 0 ? 0 : tensor.dims[axis];
      return [name, given > 0 && batchSize % given === 0 ? repeatAlong(tensor, axis, batchSize / given) : tensor];
    }),
  );
}

/** The version's input examples for this session, read once per context; null when it has none. */
function inputExamples(context: GateContext, session: OnnxSession): Promise<InputExample[] | null> {
  const entry = cached(context);
  entry.examples ??= (async () => {
    const dataset = context.dataset('example');
    if (!dataset) return null;
    if (dataset.problem || !dataset.path) throw new DatasetFormatError(`input examples ${dataset.name}: ${dataset.problem ?? 'the dataset has no stored file'}`);
    try {
      return await readInputExamples(dataset.path, session, { limit: MAX_INPUT_EXAMPLES, signal: context.signal });
    } catch (error) {
      if (error instanceof DatasetFormatError) throw new DatasetFormatError(`input examples ${dataset.name}: ${error.message}`);
      throw error;
    }
  })();
  return entry.examples;
}

/**
 * The size for unnamed symbolic dimensions: `settings.defaultDimension` if
 * the model runs with it, else the first larger size of the ladder it runs
 * with, found once per context by running it at the smoke run's batch size.
 */
function workingDimension(context: GateContext, session: OnnxSession): Promise<{ dimension: number; attempts: { dimension: number; error: string }[] }> {
  const entry = cached(context);
  entry.dimension ??= (async () => {
    const first = context.settings.defaultDimension;
    const batchSize = context.settings.smokeBatchSize;
    // When no input has such a dimension, the size changes nothing and there is nothing to try.
    const atFirst = resolveInputs(context, session, batchSize, first);
    const atNext = resolveInputs(context, session, batchSize, first + 1);
    if (JSON.stringify(atFirst.inputs) === JSON.stringify(atNext.inputs)) return { dimension: first, attempts: [] };
    const attempts: { dimension: number; error: string }[] = [];
    for (const dimension of [first, ...DIMENSION_LADDER.filter((size) => size > first)]) {
      context.signal.throwIfAborted();
      const { inputs } = resolveInputs(context, session, batchSize, dimension);
      if (inputs.some((input) => input.shape.reduce((product, dim) => product * dim, 1) > MAX_SYNTHESISED_ELEMENTS)) break;
      try {
        await session.run(synthesizedFeeds(context, inputs));
        return { dimension, attempts };
      } catch (error) {
        attempts.push({ dimension, error: (error as Error).message.split('\n')[0] });
      }
    }
    throw new SynthesisedRunError(attempts, atFirst.bindings);
  })();
  return entry.dimension;
}

/** The feed's tensors as the memory probe takes them: shapes and values. */
export function probeInputsOf(feeds: Feeds): ProbeInput[] {
  return Object.entries(feeds).map(([name, tensor]) => ({
    name,
    dtype: tensor.type,
    shape: [...tensor.dims],
    values: tensor.type === 'string' ? undefined : Array.from(tensor.type === 'float16' ? float16Bits(tensor) : (tensor.data as ArrayLike<number | bigint>), Number),
  }));
}
