import { onnx } from 'onnx-proto';
import { externalDataOf } from './onnx-model';
import { elementTypeName } from './tensor-types';
import { fromFloat16Bits } from './tensors';

/** Summary statistics of a tensor's values; mean, std (population), min and max are over the finite ones, NaN when there are none. */
export interface TensorStatistics {
  count: number;
  nonFinite: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** A tensor the model carries: what it declares, and its values' statistics where they could be read. */
export interface TensorDescription {
  dtype: string;
  shape: number[];
  /** By its dimensions, whether or not its data is at hand. */
  elements: number;
  statistics: TensorStatistics | null;
  /** Why there are no statistics (external data, a type without numbers). */
  unread?: string;
}

export function describeTensor(tensor: onnx.ITensorProto): TensorDescription {
  const shape = (tensor.dims ?? []).map(toNumber);
  const description = { dtype: elementTypeName(tensor.dataType), shape, elements: shape.reduce((product, dim) => product * dim, 1) };
  try {
    return { ...description, statistics: tensorStatistics(tensor) };
  } catch (error) {
    return { ...description, statistics: null, unread: (error as Error).message };
  }
}

/**
 * Mean, standard deviation, minimum and maximum of a numeric tensor embedded
 * in the model (raw data or the typed fields), in one pass without copying
 * the data: float16 and bfloat16 are decoded value by value. Throws for
 * external data, which is not in the model's bytes, and for types that hold no numbers.
 */
function tensorStatistics(tensor: onnx.ITensorProto): TensorStatistics {
  const { data, decode } = numericView(tensor);
  let count = 0;
  let nonFinite = 0;
  let mean = 0;
  let squares = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let index = 0; index < data.length; index++) {
    const value = decode(data[index]);
    if (!Number.isFinite(value)) {
      nonFinite++;
      continue;
    }
    // Welford's update: no catastrophic cancellation for weights with a large mean.
    count++;
    const delta = value - mean;
    mean += delta / count;
    squares += delta * (value - mean);
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (count === 0) return { count: data.length, nonFinite, mean: NaN, std: NaN, min: NaN, max: NaN };
  return { count: data.length, nonFinite, mean, std: Math.sqrt(squares / count), min, max };
}

type Element = number | bigint | { toNumber(): number };

const asNumber = (value: Element): number => (typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : value.toNumber());
const bfloat16Bits = new Uint32Array(1);
const bfloat16Value = new Float32Array(bfloat16Bits.buffer);
/** A bfloat16 is the top half of a float32. */
function fromBfloat16Bits(bits: Element): number {
  bfloat16Bits[0] = (bits as number) << 16;
  return bfloat16Value[0];
}

interface ElementLayout {
  size: number;
  view: (buffer: ArrayBufferLike, offset: number, length: number) => ArrayLike<Element>;
  /** The typed field the values are in when there is no raw data. */
  field: keyof onnx.ITensorProto;
  decode?: (value: Element) => number;
}

/** Raw little-endian views by element type, and where each type is stored otherwise (onnx.proto's TensorProto). */
const LAYOUTS: Record<string, ElementLayout> = {
  float32: { size: 4, view: (b, o, l) => new Float32Array(b, o, l), field: 'floatData' },
  float64: { size: 8, view: (b, o, l) => new Float64Array(b, o, l), field: 'doubleData' },
  float16: { size: 2, view: (b, o, l) => new Uint16Array(b, o, l), field: 'int32Data', decode: (bits) => fromFloat16Bits(bits as number) },
  bfloat16: { size: 2, view: (b, o, l) => new Uint16Array(b, o, l), field: 'int32Data', decode: fromBfloat16Bits },
  int8: { size: 1, view: (b, o, l) => new Int8Array(b, o, l), field: 'int32Data' },
  uint8: { size: 1, view: (b, o, l) => new Uint8Array(b, o, l), field: 'int32Data' },
  int16: { size: 2, view: (b, o, l) => new Int16Array(b, o, l), field: 'int32Data' },
  uint16: { size: 2, view: (b, o, l) => new Uint16Array(b, o, l), field: 'int32Data' },
  int32: { size: 4, view: (b, o, l) => new Int32Array(b, o, l), field: 'int32Data' },
  uint32: { size: 4, view: (b, o, l) => new Uint32Array(b, o, l), field: 'uint64Data' },
  int64: { size: 8, view: (b, o, l) => new BigInt64Array(b, o, l), field: 'int64Data' },
  uint64: { size: 8, view: (b, o, l) => new BigUint64Array(b, o, l), field: 'uint64Data' },
  bool: { size: 1, view: (b, o, l) => new Uint8Array(b, o, l), field: 'int32Data' },
};

function numericView(tensor: onnx.ITensorProto): { data: ArrayLike<Element>; decode: (value: Element) => number } {
  const dtype = elementTypeName(tensor.dataType);
  const layout = LAYOUTS[dtype];
  if (!layout) throw new Error(`${dtype} tensors hold no numbers`);
  const external = externalDataOf(tensor);
  if (external) throw new Error(`its data is external (${external.location})`);
  const decode = layout.decode ?? asNumber;
  const raw = tensor.rawData;
  if (!raw || raw.length === 0) return { data: (tensor[layout.field] as ArrayLike<Element> | null | undefined) ?? [], decode };
  if (raw.length % layout.size !== 0) throw new Error(`its raw data is ${raw.length} bytes, not a whole number of ${layout.size}-byte elements`);
  // A view needs aligned bytes; protobuf decoding leaves rawData wherever it fell in the file.
  const aligned = raw.byteOffset % layout.size === 0 ? raw : new Uint8Array(raw);
  return { data: layout.view(aligned.buffer, aligned.byteOffset, aligned.length / layout.size), decode };
}

function toNumber(value: Element | null | undefined): number {
  return value === null || value === undefined ? 0 : asNumber(value);
}
