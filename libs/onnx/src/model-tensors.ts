import { onnx } from 'onnx-proto';
import { externalDataOf, type ExternalDataRef, type OnnxModel } from './onnx-model';
import { FLOAT_TYPES, elementTypeName } from './tensor-types';

/** Where a model keeps a tensor: exporters differ (PaddlePaddle and many PyTorch exports keep every weight in Constant nodes). */
export type TensorSource = 'initializer' | 'sparse initializer' | 'Constant' | 'attribute';

export interface NonFiniteTensor {
  /** The value the tensor defines (an initializer's or Constant's output name), or `node.attribute` for another node's attribute. */
  tensor: string;
  graph: string;
  source: TensorSource;
  dtype: string;
  nanCount: number;
  infCount: number;
  /** Flat index of the first non-finite element. */
  firstIndex: number;
  /** The operators the value reaches, reshaped or cast but otherwise unchanged: `Clip input 1 (node clip_0)`. */
  uses: string[];
  /** Whether it reaches an operand of weight arithmetic (Conv, Gemm, MatMul, normalisation, recurrent weights), where an infinity poisons every output. */
  feedsWeightArithmetic: boolean;
}

export interface UnreadableTensor {
  tensor: string;
  graph: string;
  reason: string;
}

/** Reads a tensor's external bytes; throws with a reason when it cannot. */
export type ExternalDataReader = (ref: ExternalDataRef, tensor: string) => Uint8Array;

/**
 * Operands of weight arithmetic, by operator: the input positions where an
 * infinity multiplies into every output (undefined = every input). An
 * infinity elsewhere is often deliberate: Clip bounds, masks added before a
 * Softmax, sentinels for Min, Max or Where.
 */
const WEIGHT_OPERANDS: Record<string, readonly number[] | undefined> = {
  Conv: undefined,
  ConvTranspose: undefined,
  ConvInteger: undefined,
  QLinearConv: undefined,
  FusedConv: undefined,
  Gemm: undefined,
  FusedGemm: undefined,
  MatMul: undefined,
  FusedMatMul: undefined,
  MatMulInteger: undefined,
  QLinearMatMul: undefined,
  Einsum: undefined,
  BatchNormalization: [1, 2, 3, 4],
  InstanceNormalization: [1, 2],
  GroupNormalization: [1, 2],
  LayerNormalization: [1, 2],
  SimplifiedLayerNormalization: [1],
  SkipLayerNormalization: [2, 3, 4],
  RMSNormalization: [1],
  LSTM: [1, 2, 3, 5, 6, 7],
  GRU: [1, 2, 3, 5],
  RNN: [1, 2, 3, 5],
  Attention: [1, 2],
};

/**
 * Operators that pass a value on reshaped, cast or selected but not computed
 * with, by the inputs that flow to their outputs (undefined = every input):
 * an infinity that goes through them arrives unchanged at the next operator.
 */
const PASS_THROUGH: Record<string, readonly number[] | undefined> = {
  Identity: undefined,
  Cast: [0],
  CastLike: [0],
  Reshape: [0],
  Transpose: [0],
  Squeeze: [0],
  Unsqueeze: [0],
  Flatten: [0],
  Expand: [0],
  Tile: [0],
  Slice: [0],
  Gather: [0],
  Split: [0],
  Concat: undefined,
  DequantizeLinear: [0],
};

/** The operators of the subgraph attributes whose outputs become the node's outputs, and from which output on. */
const SUBGRAPH_OUTPUT_OFFSET: Record<string, number> = { If: 0, Scan: 0, Loop: 1 };

/**
 * Every floating-point tensor and value a model carries that holds NaN or
 * ±Inf, in every graph and model-local function: initializers, sparse
 * initializers, Constant nodes (`value`, `sparse_value`, `value_float(s)`)
 * and tensor or float attributes of any node. For each, where the value
 * flows, so a caller can tell an infinite weight from a deliberate bound.
 * Tensors whose bytes cannot be read are listed so a caller can fail closed.
 */
export function findNonFiniteTensors(model: OnnxModel, readExternal?: ExternalDataReader): { nonFinite: NonFiniteTensor[]; unreadable: UnreadableTensor[]; checked: number } {
  const flow = new ValueFlow(model);
  const nonFinite: NonFiniteTensor[] = [];
  const unreadable: UnreadableTensor[] = [];
  let checked = 0;
  for (const carried of carriedTensors(model)) {
    let count: NonFiniteCount;
    try {
      count = carried.count(readExternal);
    } catch (error) {
      unreadable.push({ tensor: carried.name, graph: carried.graph, reason: (error as Error).message });
      continue;
    }
    checked += 1;
    if (count.nan + count.inf === 0) continue;
    const uses = carried.flowsFrom ? flow.usesOf(carried.scope, carried.flowsFrom) : { uses: [carried.usedBy], feedsWeightArithmetic: carried.weightOperand };
    nonFinite.push({
      tensor: carried.name,
      graph: carried.graph,
      source: carried.source,
      dtype: carried.dtype,
      nanCount: count.nan,
      infCount: count.inf,
      firstIndex: count.first,
      ...uses,
    });
  }
  return { nonFinite, unreadable, checked };
}

interface NonFiniteCount {
  nan: number;
  inf: number;
  first: number;
}

/** One floating-point tensor or value the model carries, counted on demand. */
interface CarriedTensor {
  name: string;
  graph: string;
  /** `main` or `function domain:name`: the namespace its value names live in. */
  scope: string;
  source: TensorSource;
  dtype: string;
  /** The value name its contents flow from; absent for another node's attribute, which is used by that node alone. */
  flowsFrom?: string;
  usedBy: string;
  weightOperand: boolean;
  count(readExternal?: ExternalDataReader): NonFiniteCount;
}

function* carriedTensors(model: OnnxModel): Generator<CarriedTensor> {
  for (const { path, graph } of model.graphs()) {
    const scope = scopeOf(path);
    const fromTensor = (tensor: onnx.ITensorProto, source: TensorSource, name: string, placement: Pick<CarriedTensor, 'flowsFrom' | 'usedBy' | 'weightOperand'>) => {
      const dtype = elementTypeName(tensor.dataType);
      if (!FLOAT_TYPES.has(dtype)) return undefined;
      return { name, graph: path, scope, source, dtype, ...placement, count: (readExternal?: ExternalDataReader) => countNonFinite(floatValues(tensor, dtype, readExternal)) };
    };
    for (const tensor of graph.initializer ?? []) {
      const name = tensor.name ?? '';
      const carried = fromTensor(tensor, 'initializer', name, { flowsFrom: name, usedBy: '', weightOperand: false });
      if (carried) yield carried;
    }
    for (const sparse of graph.sparseInitializer ?? []) {
      const name = sparse.values?.name ?? '';
      const carried = sparse.values && fromTensor(sparse.values, 'sparse initializer', name, { flowsFrom: name, usedBy: '', weightOperand: false });
      if (carried) yield carried;
    }
    for (const node of graph.node ?? []) {
      const nodeName = node.name || node.opType || 'node';
      for (const attribute of node.attribute ?? []) {
        const isConstant = node.opType === 'Constant' && (node.domain ?? '') === '';
        // A Constant's value is its output; ConstantOfShape fills its output with its value; any other node uses its attribute itself.
        const placement =
          isConstant || node.opType === 'ConstantOfShape'
            ? { flowsFrom: node.output?.[0] ?? '', usedBy: '', weightOperand: false }
            : { usedBy: `${node.opType} attribute ${attribute.name} (node ${nodeName})`, weightOperand: isOperandOf(WEIGHT_OPERANDS, node.opType ?? '') };
        const name = isConstant ? (node.output?.[0] ?? nodeName) : `${nodeName}.${attribute.name ?? ''}`;
        const source: TensorSource = isConstant ? 'Constant' : 'attribute';
        const listed = [...(attribute.tensors ?? []), ...(attribute.sparseTensors ?? []).map((sparse) => sparse.values)];
        const tensors: [string, onnx.ITensorProto | null | undefined][] = [
          [name, attribute.t],
          [name, attribute.sparseTensor?.values],
          ...listed.map((tensor, index): [string, onnx.ITensorProto | null | undefined] => [`${name}[${index}]`, tensor]),
        ];
        for (const [label, tensor] of tensors) {
          const carried = tensor && fromTensor(tensor, source, label, placement);
          if (carried) yield carried;
        }
        const floats = attributeFloats(attribute);
        if (floats) yield { name, graph: path, scope, source, dtype: 'float32', ...placement, count: () => countNonFinite({ kind: 'float', data: floats }) };
      }
    }
  }
}

/** An attribute's float or floats (a Constant's `value_float(s)`, an epsilon, a Clip-6 bound), when it has them. */
function attributeFloats(attribute: onnx.IAttributeProto): number[] | null {
  const AttributeType = onnx.AttributeProto.AttributeType;
  if (attribute.type === AttributeType.FLOAT) return [attribute.f ?? 0];
  if (attribute.type === AttributeType.FLOATS) return attribute.floats ?? [];
  return null;
}

function scopeOf(graphPath: string): string {
  const slash = graphPath.indexOf('/');
  return slash < 0 ? graphPath : graphPath.slice(0, slash);
}

interface Consumer {
  node: onnx.INodeProto;
  input: number;
}

/**
 * Which operators consume a value, and where values flow on: through
 * pass-through operators, out of If/Loop/Scan bodies into the node's
 * outputs, and into and out of model-local functions. Value names are
 * scoped: the main graph and its subgraphs share one namespace, each
 * function body has its own.
 */
class ValueFlow {
  private readonly consumers = new Map<string, Consumer[]>();
  /** Extra edges from a value to the values it becomes (subgraph outputs, function boundaries). */
  private readonly edges = new Map<string, string[]>();
  private readonly functions = new Map<string, onnx.IFunctionProto>();

  constructor(model: OnnxModel) {
    for (const fn of model.proto.functions ?? []) this.functions.set(`${fn.domain ?? ''}:${fn.name ?? ''}`, fn);
    for (const { path, graph } of model.graphs()) {
      const scope = scopeOf(path);
      for (const node of graph.node ?? []) {
        (node.input ?? []).forEach((name, input) => {
          if (name) this.push(this.consumers, key(scope, name), { node, input });
        });
        this.linkSubgraphs(scope, node);
        this.linkFunction(scope, node);
      }
    }
  }

  /** The operators the value reaches unchanged, and whether one of them is weight arithmetic. */
  usesOf(scope: string, name: string): { uses: string[]; feedsWeightArithmetic: boolean } {
    const uses = new Set<string>();
    let feedsWeightArithmetic = false;
    const seen = new Set<string>();
    const pending = [key(scope, name)];
    while (pending.length > 0) {
      const value = pending.pop()!;
      if (seen.has(value)) continue;
      seen.add(value);
      pending.push(...(this.edges.get(value) ?? []));
      const valueScope = value.slice(0, value.indexOf('\0'));
      for (const { node, input } of this.consumers.get(value) ?? []) {
        const opType = node.opType ?? '';
        uses.add(`${opType} input ${input} (node ${node.name || opType})`);
        if (isOperandOf(WEIGHT_OPERANDS, opType, input)) feedsWeightArithmetic = true;
        if (isOperandOf(PASS_THROUGH, opType, input)) {
          for (const output of node.output ?? []) if (output) pending.push(key(valueScope, output));
        }
      }
    }
    return { uses: [...uses], feedsWeightArithmetic };
  }

  private linkSubgraphs(scope: string, node: onnx.INodeProto): void {
    const offset = SUBGRAPH_OUTPUT_OFFSET[node.opType ?? ''];
    if (offset === undefined) return;
    for (const attribute of node.attribute ?? []) {
      (attribute.g?.output ?? []).forEach((output, index) => {
        const becomes = node.output?.[index - offset];
        if (output.name && becomes) this.push(this.edges, key(scope, output.name), key(scope, becomes));
      });
    }
  }

  private linkFunction(scope: string, node: onnx.INodeProto): void {
    const fn = this.functions.get(`${node.domain ?? ''}:${node.opType ?? ''}`);
    if (!fn) return;
    const body = `function ${fn.domain ?? ''}:${fn.name ?? ''}`;
    (node.input ?? []).forEach((name, index) => {
      const parameter = fn.input?.[index];
      if (name && parameter) this.push(this.edges, key(scope, name), key(body, parameter));
    });
    (fn.output ?? []).forEach((name, index) => {
      const result = node.output?.[index];
      if (name && result) this.push(this.edges, key(body, name), key(scope, result));
    });
  }

  private push<T>(map: Map<string, T[]>, at: string, item: T): void {
    const list = map.get(at);
    if (list) list.push(item);
    else map.set(at, [item]);
  }
}

/** Whether the table lists the operator, and the input among its operands (any input when `input` is absent). */
function isOperandOf(table: Record<string, readonly number[] | undefined>, opType: string, input?: number): boolean {
  if (!Object.hasOwn(table, opType)) return false;
  const inputs = table[opType];
  return input === undefined || inputs === undefined || inputs.includes(input);
}

function key(scope: string, name: string): string {
  return `${scope}\0${name}`;
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

function countNonFinite(values: FloatValues): NonFiniteCount {
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
