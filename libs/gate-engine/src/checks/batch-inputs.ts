import type { Feeds, OnnxSession, ProbeInput } from '@gatehouse/onnx';
import type { GateContext } from '../gate-context';
import { modelFeeds } from './model-inputs';
import { resolveInputs } from './synthesized-inputs';

/** Inputs for one run at a batch size: their shapes, what each symbolic dimension became, the tensors, and where they came from. */
export interface BatchFeeds {
  inputs: ProbeInput[];
  bindings: Record<string, number>;
  feeds: Feeds;
  description: string;
}

/** The one place the batch_sizes and latency checks get the inputs they run the model on: the first input example made into the batch, or synthesised inputs. */
export async function batchFeeds(context: GateContext, session: OnnxSession, batchSize: number): Promise<BatchFeeds> {
  const fed = await modelFeeds(context, session, { batchSize });
  const feeds = fed.feeds[0];
  const inputs = Object.entries(feeds).map(([name, tensor]) => ({ name, dtype: tensor.type, shape: [...tensor.dims] }));
  return { inputs, bindings: fed.bindings, feeds, description: fed.description };
}

/** Whether runs can vary the batch size; where they cannot, the size every run has and why. */
export type BatchDimension = { variable: true } | { variable: false; size: number; reason: string };

/**
 * Whether the batch size a check asks for reaches the model: it does when
 * some input's leading dimension follows it, and not when every leading
 * dimension is fixed by the model, the declared schema or `settings.dimensions`.
 * Found by resolving the inputs at two sizes, so it follows exactly the rules
 * the inputs are resolved by. A fixed model's batch is the first input's leading dimension.
 */
export function batchDimension(context: GateContext, session: OnnxSession): BatchDimension {
  const one = resolveInputs(context, session, 1).inputs;
  const two = resolveInputs(context, session, 2).inputs;
  if (one.some((input, index) => input.shape.length > 0 && input.shape[0] !== two[index].shape[0])) return { variable: true };
  const leading = one.filter((input) => input.shape.length > 0);
  const fixedBy = (index: number) => (typeof session.inputs[index].shape[0] === 'number' ? 'in the model' : 'by the declared schema or settings.dimensions');
  const reason =
    leading.length === 0
      ? 'no input has a batch dimension'
      : `the batch dimension is fixed: ${one
          .map((input, index) => (input.shape.length > 0 ? `${input.name} ${JSON.stringify(input.shape)} (${fixedBy(index)})` : undefined))
          .filter(Boolean)
          .join(', ')}`;
  return { variable: false, size: leading[0]?.shape[0] ?? 1, reason };
}
