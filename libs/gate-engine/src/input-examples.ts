import { TensorShapeError, wholeTensor, type Feeds, type OnnxSession } from '@gatehouse/onnx';
import { DatasetFormatError, readBatches } from './evaluation';

/** One input example: a complete feed, every input as the whole tensor of one call, from one JSON Lines row. */
export interface InputExample {
  line: number;
  feeds: Feeds;
  shapes: Record<string, number[]>;
}

/**
 * Reads a version's input examples (the dataset of role `example`, in the
 * evaluation JSON Lines shape without labels) as feeds for the session. Every
 * row must give every input the model takes, and no other: a misspelt input
 * name is an error, not a silently synthesised input.
 */
export async function readInputExamples(path: string, session: OnnxSession, options: { limit: number; signal?: AbortSignal }): Promise<InputExample[]> {
  const names = new Set(session.inputs.map((input) => input.name));
  const examples: InputExample[] = [];
  for await (const [row] of readBatches(path, { batchSize: 1, maxExamples: options.limit, signal: options.signal })) {
    const unknown = Object.keys(row.inputs).filter((name) => !names.has(name));
    if (unknown.length > 0)
      throw new DatasetFormatError(`line ${row.line} gives ${unknown.map((name) => `"${name}"`).join(', ')}, which the model does not take (it takes: ${[...names].join(', ')})`);
    const feeds: Feeds = {};
    const shapes: Record<string, number[]> = {};
    for (const spec of session.inputs) {
      const value = row.inputs[spec.name];
      if (value === undefined)
        throw new DatasetFormatError(`line ${row.line} has no input "${spec.name}": an example gives every input the model takes (${[...names].join(', ')})`);
      try {
        feeds[spec.name] = wholeTensor(spec, value);
      } catch (error) {
        if (error instanceof TensorShapeError) throw new DatasetFormatError(`line ${row.line}: ${error.message}`);
        throw error;
      }
      shapes[spec.name] = [...feeds[spec.name].dims];
    }
    examples.push({ line: row.line, feeds, shapes });
  }
  if (examples.length === 0) throw new DatasetFormatError('the input examples hold no rows');
  return examples;
}
