import * as ort from 'onnxruntime-node';
import type { TensorSpec } from './onnx-model';
import { SeededRandom } from './seeded-random';

export class TensorShapeError extends Error {}

export interface ShapeResolution {
  /** The batch size used where the leading dimension is symbolic. */
  batchSize: number;
  /** Values for named symbolic dimensions, e.g. {"seq": 16}. */
  bindings: Record<string, number>;
  /** For symbolic dimensions that are neither the batch nor bound. */
  defaultDimension: number;
}

/**
 * A concrete shape for a tensor the runtime describes with symbolic or
 * unknown dimensions: the registrant's declared size at that position first,
 * then a named binding, then the batch size (leading dimension), then the default.
 */
export function resolveShape(spec: TensorSpec, resolution: ShapeResolution, declared?: TensorSpec): number[] {
  return spec.shape.map((dim, index) => {
    if (typeof dim === 'number') return dim;
    const declaredDim = declared?.shape[index];
    if (typeof declaredDim === 'number' && declaredDim > 0) return declaredDim;
    if (typeof dim === 'string' && resolution.bindings[dim] !== undefined) return resolution.bindings[dim];
    if (typeof declaredDim === 'string' && resolution.bindings[declaredDim] !== undefined) return resolution.bindings[declaredDim];
    return index === 0 ? resolution.batchSize : resolution.defaultDimension;
  });
}

/** A tensor of the given type and shape filled with seeded values: normal for floats, small integers otherwise. */
export function synthesizeTensor(dtype: string, shape: number[], random: SeededRandom): ort.Tensor {
  const size = shape.reduce((product, dim) => product * dim, 1);
  switch (dtype) {
    case 'float32':
      return new ort.Tensor(
        'float32',
        Float32Array.from({ length: size }, () => random.normal()),
        shape,
      );
    case 'float64':
      return new ort.Tensor(
        'float64',
        Float64Array.from({ length: size }, () => random.normal()),
        shape,
      );
    case 'float16':
      return new ort.Tensor(
        'float16',
        Uint16Array.from({ length: size }, () => toFloat16Bits(random.normal())),
        shape,
      );
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: size }, () => BigInt(Math.floor(random.next() * 10))),
        shape,
      );
    case 'uint64':
      return new ort.Tensor(
        'uint64',
        BigUint64Array.from({ length: size }, () => BigInt(Math.floor(random.next() * 10))),
        shape,
      );
    case 'bool':
      return new ort.Tensor(
        'bool',
        Uint8Array.from({ length: size }, () => (random.next() < 0.5 ? 0 : 1)),
        shape,
      );
    case 'string':
      return new ort.Tensor(
        'string',
        Array.from({ length: size }, () => 'gatehouse'),
        shape,
      );
    default: {
      const IntegerArray = INTEGER_ARRAYS[dtype];
      if (!IntegerArray) throw new TensorShapeError(`cannot synthesise inputs of type ${dtype}`);
      return new ort.Tensor(dtype as 'int32', IntegerArray.from({ length: size }, () => Math.floor(random.next() * 10)) as Int32Array, shape);
    }
  }
}

const INTEGER_ARRAYS: Record<string, { from(source: ArrayLike<number>, map: (v: unknown, k: number) => number): ArrayLike<number> }> = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
};

/**
 * Stacks one tensor's values from several examples (nested arrays without the
 * batch dimension) into a batch. Every example must have the same shape, and
 * it must agree with the spec's fixed dimensions.
 */
export function stackExamples(spec: TensorSpec, examples: unknown[], firstExampleIndex = 0): ort.Tensor {
  if (examples.length === 0) throw new TensorShapeError('no examples to stack');
  const exampleShape = nestedShape(examples[0]);
  const expectedRank = spec.shape.length - 1;
  if (spec.shape.length > 0 && exampleShape.length !== expectedRank) {
    throw new TensorShapeError(
      `example ${firstExampleIndex}: input "${spec.name}" has rank ${exampleShape.length}, the model expects rank ${expectedRank} per example (shape ${JSON.stringify(spec.shape)} with the batch first)`,
    );
  }
  exampleShape.forEach((dim, index) => {
    const expected = spec.shape[index + 1];
    if (typeof expected === 'number' && expected !== dim) {
      throw new TensorShapeError(`example ${firstExampleIndex}: input "${spec.name}" has size ${dim} in dimension ${index + 1}, the model expects ${expected}`);
    }
  });
  const perExample = exampleShape.reduce((product, dim) => product * dim, 1);
  // Floats are written straight into the tensor's own array: no second copy on the evaluation path.
  const values = spec.dtype === 'float32' ? new Float32Array(perExample * examples.length) : new Float64Array(perExample * examples.length);
  examples.forEach((example, offset) => {
    const written = flattenInto(example, values, offset * perExample);
    if (written !== perExample || !hasShape(example, exampleShape)) {
      throw new TensorShapeError(
        `example ${firstExampleIndex + offset}: input "${spec.name}" has shape ${JSON.stringify(nestedShape(example))}, earlier examples have ${JSON.stringify(exampleShape)}`,
      );
    }
  });
  return typedTensor(spec.dtype, values, [examples.length, ...exampleShape]);
}

/**
 * One input of an input example: the whole tensor the model takes in one call,
 * written as nested arrays (a scalar as a number), shaped by its nesting. Its
 * rank and fixed dimensions must agree with the spec's.
 */
export function wholeTensor(spec: TensorSpec, value: unknown): ort.Tensor {
  const shape = nestedShape(value);
  if (shape.length !== spec.shape.length) {
    throw new TensorShapeError(
      `input "${spec.name}" has rank ${shape.length} (shape ${JSON.stringify(shape)}), the model takes rank ${spec.shape.length} (${JSON.stringify(spec.shape)}): give the whole tensor of one call, batch dimension included`,
    );
  }
  spec.shape.forEach((dim, index) => {
    if (typeof dim === 'number' && dim !== shape[index]) throw new TensorShapeError(`input "${spec.name}" has size ${shape[index]} in dimension ${index}, the model takes ${dim}`);
  });
  const size = shape.reduce((product, dim) => product * dim, 1);
  const values = spec.dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  const written = flattenInto(value, values, 0);
  if (written !== size) throw new TensorShapeError(`input "${spec.name}" is ragged: its nested arrays are not all of shape ${JSON.stringify(shape)}`);
  return typedTensor(spec.dtype, values, shape);
}

/** The tensor repeated `times` times along `axis`: an example of batch one made into a batch. */
export function repeatAlong(tensor: ort.Tensor, axis: number, times: number): ort.Tensor {
  const dims = [...tensor.dims];
  if (times === 1 || axis < 0 || axis >= dims.length) return tensor;
  const data = tensor.data as unknown as ArrayLike<unknown> & { constructor: new (length: number) => { [index: number]: unknown } };
  // Each outer slice holds `block` values along the axis and after it; the copy repeats each block in place.
  const block = dims.slice(axis).reduce((product, dim) => product * dim, 1);
  const outer = block === 0 ? 0 : data.length / block;
  const repeated = Array.isArray(data) ? new Array<unknown>(data.length * times) : new data.constructor(data.length * times);
  for (let slice = 0; slice < outer; slice++) {
    for (let copy = 0; copy < times; copy++) {
      for (let index = 0; index < block; index++) repeated[(slice * times + copy) * block + index] = data[slice * block + index];
    }
  }
  dims[axis] *= times;
  return new ort.Tensor(tensor.type as 'float32', repeated as Float32Array, dims);
}

function typedTensor(dtype: string, values: Float32Array | Float64Array, shape: number[]): ort.Tensor {
  switch (dtype) {
    case 'float32':
      return new ort.Tensor('float32', values, shape);
    case 'float64':
      return new ort.Tensor('float64', values, shape);
    case 'float16':
      return new ort.Tensor('float16', Uint16Array.from(values, toFloat16Bits), shape);
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (value) => BigInt(Math.trunc(value))),
        shape,
      );
    case 'bool':
      return new ort.Tensor(
        'bool',
        Uint8Array.from(values, (value) => (value ? 1 : 0)),
        shape,
      );
    default: {
      const IntegerArray = INTEGER_ARRAYS[dtype];
      if (!IntegerArray) throw new TensorShapeError(`cannot build inputs of type ${dtype} from a dataset`);
      return new ort.Tensor(dtype as 'int32', IntegerArray.from(values, (value) => Math.trunc(value as number)) as Int32Array, shape);
    }
  }
}

function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    shape.push(current.length);
    current = current[0];
  }
  return shape;
}

/** Whether {@link nestedShape} of `value` is `shape`, without building it: it runs for every example of every batch an evaluation stacks. */
function hasShape(value: unknown, shape: readonly number[]): boolean {
  let current = value;
  for (const dim of shape) {
    if (!Array.isArray(current) || current.length !== dim) return false;
    current = current[0];
  }
  return !Array.isArray(current);
}

/** Writes the numbers of a nested array depth-first; returns how many were written. */
function flattenInto(value: unknown, target: Float32Array | Float64Array, offset: number): number {
  if (!Array.isArray(value)) {
    target[offset] = scalar(value);
    return 1;
  }
  // The innermost dimension, the common case, without a call per number.
  if (value.length > 0 && !Array.isArray(value[0])) {
    for (let index = 0; index < value.length; index++) target[offset + index] = scalar(value[index]);
    return value.length;
  }
  let written = 0;
  for (const item of value) written += flattenInto(item, target, offset + written);
  return written;
}

function scalar(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new TensorShapeError(`expected a number, found ${JSON.stringify(value)}`);
}

/** A tensor's values as plain numbers (float16 decoded), for metrics and comparisons. */
export function tensorValues(tensor: ort.Tensor): Float64Array {
  const data = tensor.data;
  // onnxruntime holds float16 as bits in a Uint16Array where there is no Float16Array (node 20 and 22), and in a
  // Float16Array of the same bytes where there is (node 24), whichever array the tensor was made from.
  if (tensor.type === 'float16' && data instanceof Uint16Array) return Float64Array.from(data, fromFloat16Bits);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, (value) => Number(value));
  if (Array.isArray(data)) throw new TensorShapeError(`output of type ${tensor.type} has no numeric values`);
  return Float64Array.from(data as ArrayLike<number>);
}

/** A float16 tensor's bit patterns, for code that needs them on every node version (see {@link tensorValues}). */
export function float16Bits(tensor: ort.Tensor): Uint16Array {
  const data = tensor.data as ArrayBufferView & { length: number };
  return data instanceof Uint16Array ? data : new Uint16Array(data.buffer, data.byteOffset, data.length);
}

function toFloat16Bits(value: number): number {
  const floats = new Float32Array([value]);
  const bits = new Uint32Array(floats.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | ((bits >>> 13) & 0x3ff);
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
