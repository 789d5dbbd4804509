import { onnx } from 'onnx-proto';
import { elementTypeName } from './tensor-types';

/** A tensor's name, element type and shape; symbolic dimensions are names, unknown ones null. */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string | null)[];
}

/** A model's inputs and outputs, each a tensor with an element type and a shape. */
export interface TensorSchema {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** The graph's inputs and outputs as a schema, or why they cannot all be described as tensors: one reason per value. */
export type TensorSchemaReading = { schema: TensorSchema } | { unreadable: string[] };

export interface OpsetImport {
  domain: string;
  version: number;
}

/** A graph of the model with where it sits: `main`, or the node and attribute holding a subgraph. */
export interface GraphLocation {
  path: string;
  graph: onnx.IGraphProto;
}

/** Where a tensor's bytes live when they are outside the .onnx file. */
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
    return this.fedInputs.map(tensorSpec);
  }

  get outputs(): TensorSpec[] {
    return this.mainGraph.output.map(tensorSpec);
  }

  /**
   * The inputs and outputs as the file declares them, in the terms a
   * registrant declares a schema: names, element types, shapes with symbolic
   * dimensions by name (unknown ones null). A value that is not a tensor (a
   * sequence, a map), or a tensor without an element type or a shape (its
   * rank unknown, which a shape of [] would misstate as a scalar), makes the
   * schema unreadable instead, naming each such value.
   */
  tensorSchema(): TensorSchemaReading {
    const unreadable = [...this.fedInputs.map((value) => whyNotTensor('input', value)), ...this.mainGraph.output.map((value) => whyNotTensor('output', value))].filter(
      (reason): reason is string => reason !== null,
    );
    return unreadable.length > 0 ? { unreadable } : { schema: { inputs: this.inputs, outputs: this.outputs } };
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

  private get fedInputs(): onnx.IValueInfoProto[] {
    const graph = this.mainGraph;
    const initialized = new Set(graph.initializer.map((tensor) => tensor.name));
    return graph.input.filter((value) => !initialized.has(value.name));
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

function tensorSpec(value: onnx.IValueInfoProto): TensorSpec {
  const tensorType = value.type?.tensorType;
  return {
    name: value.name ?? '',
    dtype: elementTypeName(tensorType?.elemType),
    shape: (tensorType?.shape?.dim ?? []).map((dim) => {
      // `value` is protobufjs's oneof accessor: which of the two fields is set, if any.
      const which = (dim as onnx.TensorShapeProto.Dimension).value;
      // An empty name is no name: onnxruntime reports such a dimension as unknown too.
      if (which === 'dimParam') return dim.dimParam || null;
      if (which === 'dimValue') return toNumber(dim.dimValue);
      return null;
    }),
  };
}

const VALUE_KINDS: Record<string, string> = {
  sequenceType: 'a sequence',
  mapType: 'a map',
  optionalType: 'an optional value',
  sparseTensorType: 'a sparse tensor',
};

/** Why a graph value cannot be written as a tensor spec, or null when it can. */
function whyNotTensor(kind: 'input' | 'output', value: onnx.IValueInfoProto): string | null {
  const type = value.type as onnx.TypeProto | null | undefined;
  const name = `${kind} "${value.name ?? ''}"`;
  if (!type?.tensorType) return `${name} is ${VALUE_KINDS[type?.value ?? ''] ?? 'of no declared type'}, not a tensor`;
  if (!type.tensorType.elemType) return `${name} declares no element type`;
  if (!type.tensorType.shape) return `${name} declares no shape, so its rank is unknown`;
  return null;
}

/** protobufjs gives 64-bit integers as a number or a Long; `unknown` because the Long type is not installed. */
function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : (value as { toNumber(): number }).toNumber();
}
