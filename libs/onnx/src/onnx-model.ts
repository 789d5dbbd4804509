import { onnx } from 'onnx-proto';
import { FLOAT_TYPES, elementTypeName } from './tensor-types';

/** A tensor's name, element type and shape; symbolic dimensions are names, unknown ones null. */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string | null)[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/** A graph of the model with where it sits: `main`, or the node and attribute holding a subgraph. */
export interface GraphLocation {
  path: string;
  graph: onnx.IGraphProto;
}

/** Where an initializer's bytes live when they are outside the .onnx file. */
export interface ExternalDataRef {
  location: string;
  offset: number;
  length: number | null;
  /** Every key/value the tensor carries, including unrecognised ones. */
  entries: Record<string, string>;
}

export class OnnxParseError extends Error {}

/** A parsed ONNX ModelProto, read without onnxruntime: what the file itself declares. */
export class OnnxModel {
  private constructor(readonly proto: onnx.ModelProto) {}

  static parse(bytes: Uint8Array): OnnxModel {
    let proto: onnx.ModelProto;
    try {
      proto = onnx.ModelProto.decode(bytes);
    } catch (error) {
      throw new OnnxParseError(`not a valid ONNX protobuf: ${(error as Error).message}`);
    }
    if (!proto.graph) throw new OnnxParseError('the ONNX model has no graph');
    if (toNumber(proto.irVersion) <= 0) throw new OnnxParseError('the ONNX model declares no IR version');
    return new OnnxModel(proto);
  }

  get irVersion(): number {
    return toNumber(this.proto.irVersion);
  }

  get producer(): string {
    return [this.proto.producerName, this.proto.producerVersion].filter(Boolean).join(' ');
  }

  get opsets(): OpsetImport[] {
    return this.proto.opsetImport.map((opset) => ({ domain: opset.domain ?? '', version: toNumber(opset.version) }));
  }

  /** Graph inputs that are fed by the caller: initializers listed as inputs (IR < 4) are not. */
  get inputs(): TensorSpec[] {
    const graph = this.mainGraph;
    const initialized = new Set(graph.initializer.map((tensor) => tensor.name));
    return graph.input.filter((value) => !initialized.has(value.name)).map(tensorSpec);
  }

  get outputs(): TensorSpec[] {
    return this.mainGraph.output.map(tensorSpec);
  }

  /**
   * The main graph, each model-local function's body (`function domain:name`),
   * and every subgraph any of them holds in If, Loop, Scan or another graph attribute, depth first.
   */
  *graphs(): Generator<GraphLocation> {
    const functions = (this.proto.functions ?? []).map((fn) => ({ path: `function ${fn.domain ?? ''}:${fn.name ?? ''}`, graph: { node: fn.node } }));
    const pending: GraphLocation[] = [...functions.reverse(), { path: 'main', graph: this.mainGraph }];
    while (pending.length > 0) {
      const current = pending.pop()!;
      yield current;
      for (const node of current.graph.node ?? []) {
        for (const attribute of node.attribute ?? []) {
          const nodeName = node.name || node.opType || 'node';
          const where = `${current.path}/${nodeName}.${attribute.name}`;
          if (attribute.g) pending.push({ path: where, graph: attribute.g });
          (attribute.graphs ?? []).forEach((graph, index) => pending.push({ path: `${where}[${index}]`, graph }));
        }
      }
    }
  }

  private get mainGraph(): onnx.IGraphProto & { initializer: onnx.ITensorProto[]; input: onnx.IValueInfoProto[]; output: onnx.IValueInfoProto[] } {
    const graph = this.proto.graph!;
    return { ...graph, initializer: graph.initializer ?? [], input: graph.input ?? [], output: graph.output ?? [] };
  }
}

export function externalDataOf(tensor: onnx.ITensorProto): ExternalDataRef | null {
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return null;
  const entries: Record<string, string> = {};
  for (const entry of tensor.externalData ?? []) entries[entry.key ?? ''] = entry.value ?? '';
  return {
    location: entries.location ?? '',
    offset: entries.offset === undefined ? 0 : Number(entries.offset),
    length: entries.length === undefined ? null : Number(entries.length),
    entries,
  };
}

export interface NonFiniteWeight {
  tensor: string;
  graph: string;
  dtype: string;
  nanCount: number;
  infCount: number;
  /** Flat index of the first non-finite element. */
  firstIndex: number;
}

export interface UnreadableWeight {
  tensor: string;
  graph: string;
  reason: string;
}

/** Reads an initializer's external bytes; throws with a reason when it cannot. */
export type ExternalDataReader = (ref: ExternalDataRef, tensor: string) => Uint8Array;

/**
 * Every floating-point initializer (in every graph) holding NaN or ±Inf, and
 * the ones whose bytes could not be read, so a caller can fail closed on them.
 */
export function findNonFiniteWeights(model: OnnxModel, readExternal?: ExternalDataReader): { nonFinite: NonFiniteWeight[]; unreadable: UnreadableWeight[]; checked: number } {
  const nonFinite: NonFiniteWeight[] = [];
  const unreadable: UnreadableWeight[] = [];
  let checked = 0;
  for (const { path, graph } of model.graphs()) {
    for (const tensor of graph.initializer ?? []) {
      const dtype = elementTypeName(tensor.dataType);
      if (!FLOAT_TYPES.has(dtype)) continue;
      const name = tensor.name ?? '';
      let values: FloatValues;
      try {
        values = floatValues(tensor, dtype, readExternal);
      } catch (error) {
        unreadable.push({ tensor: name, graph: path, reason: (error as Error).message });
        continue;
      }
      checked += 1;
      const count = countNonFinite(values);
      if (count.nan + count.inf > 0) {
        nonFinite.push({ tensor: name, graph: path, dtype, nanCount: count.nan, infCount: count.inf, firstIndex: count.first });
      }
    }
  }
  return { nonFinite, unreadable, checked };
}

type FloatValues = { kind: 'float'; data: ArrayLike<number> } | { kind: 'half'; data: ArrayLike<number>; exponentMask: number };

function floatValues(tensor: onnx.ITensorProto, dtype: string, readExternal?: ExternalDataReader): FloatValues {
  const external = externalDataOf(tensor);
  let raw: Uint8Array | null = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : null;
  if (external) {
    if (!readExternal) throw new Error(`its data is external (${external.location}) and cannot be read here`);
    raw = readExternal(external, tensor.name ?? '');
  }
  const halfMask = dtype === 'float16' ? 0x7c00 : 0x7f80;
  if (raw) {
    switch (dtype) {
      case 'float32':
        return { kind: 'float', data: typedView(raw, 4, (buffer, offset, length) => new Float32Array(buffer, offset, length)) };
      case 'float64':
        return { kind: 'float', data: typedView(raw, 8, (buffer, offset, length) => new Float64Array(buffer, offset, length)) };
      default:
        return { kind: 'half', data: typedView(raw, 2, (buffer, offset, length) => new Uint16Array(buffer, offset, length)), exponentMask: halfMask };
    }
  }
  if (dtype === 'float32') return { kind: 'float', data: tensor.floatData ?? [] };
  if (dtype === 'float64') return { kind: 'float', data: tensor.doubleData ?? [] };
  // float16 and bfloat16 without raw data are stored one per int32.
  return { kind: 'half', data: tensor.int32Data ?? [], exponentMask: halfMask };
}

/** A little-endian typed view over bytes, copied first when they are not aligned. */
function typedView<T>(bytes: Uint8Array, size: number, make: (buffer: ArrayBufferLike, offset: number, length: number) => T): T {
  if (bytes.length % size !== 0) throw new Error(`its raw data is ${bytes.length} bytes, not a whole number of ${size}-byte elements`);
  // new Uint8Array(bytes) copies into a fresh buffer; Buffer#slice would only make another unaligned view.
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return make(aligned.buffer, aligned.byteOffset, aligned.length / size);
}

function countNonFinite(values: FloatValues): { nan: number; inf: number; first: number } {
  let nan = 0;
  let inf = 0;
  let first = -1;
  const { data } = values;
  for (let index = 0; index < data.length; index++) {
    const value = data[index];
    let isNan: boolean;
    let isInf: boolean;
    if (values.kind === 'float') {
      isNan = value !== value;
      isInf = value === Infinity || value === -Infinity;
    } else {
      const special = (value & values.exponentMask) === values.exponentMask;
      const mantissa = value & (values.exponentMask === 0x7c00 ? 0x03ff : 0x007f);
      isNan = special && mantissa !== 0;
      isInf = special && mantissa === 0;
    }
    if (isNan) nan++;
    if (isInf) inf++;
    if ((isNan || isInf) && first < 0) first = index;
  }
  return { nan, inf, first };
}

function tensorSpec(value: onnx.IValueInfoProto): TensorSpec {
  const tensorType = value.type?.tensorType;
  return {
    name: value.name ?? '',
    dtype: elementTypeName(tensorType?.elemType),
    shape: (tensorType?.shape?.dim ?? []).map((dim) => {
      // `value` is protobufjs's oneof accessor: which of the two fields is set, if any.
      const which = (dim as onnx.TensorShapeProto.Dimension).value;
      if (which === 'dimParam') return dim.dimParam ?? null;
      if (which === 'dimValue') return toNumber(dim.dimValue);
      return null;
    }),
  };
}

/** protobufjs gives 64-bit integers as a number or a Long; `unknown` because the Long type is not installed. */
function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : (value as { toNumber(): number }).toNumber();
}
