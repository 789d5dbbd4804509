import { ELEMENT_SIZES, OnnxParseError, describeTensor, type OnnxModel, type TensorDescription } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

type Thresholds = { maxTensorsListed: number };

/** Element types that hold weights: floats, and 8-bit integers for quantised models. Wider integers are shapes and indices. */
const WEIGHT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8']);

/** Op types the message names; `details.opTypes` has them all. */
const OPS_IN_MESSAGE = 8;

interface WeightTensor extends TensorDescription {
  name: string;
  graph: string;
  source: 'initializer' | 'Constant';
}

/**
 * What the model is made of, for a reviewer: operators and how often each
 * appears, nodes per graph, IR version and opsets, parameters, and each
 * weight tensor's mean, standard deviation, minimum and maximum (a tensor
 * of zeros or one with a huge range stands out). BatchNormalization and
 * Dropout are named: both behave differently in training, so an export
 * in the wrong mode shows here first. A report, not a verdict: it fails
 * only when the model cannot be parsed. Large models list their largest
 * tensors and sum up the rest, so the report stays small.
 */
export class ArchitectureCheck implements GateCheck<Thresholds> {
  readonly id = 'architecture';
  readonly family = 'validation';
  readonly description = 'a report of the graph: operators, nodes, opsets, parameters and weight statistics';
  readonly severity = 'warning';
  readonly requires = ['onnx_parses'];
  readonly thresholds = { maxTensorsListed: { type: 'integer', min: 0, max: 10_000, description: 'weight tensors listed with statistics, the largest first' } } as const;
  readonly defaults = { maxTensorsListed: 50 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    let model: OnnxModel;
    try {
      model = await context.onnxModel();
    } catch (error) {
      if (error instanceof OnnxParseError) return { status: 'failed', message: `the model cannot be parsed: ${error.message}` };
      throw error;
    }
    const opTypes = new Map<string, number>();
    const nodesByGraph: { graph: string; nodes: number }[] = [];
    const weights: WeightTensor[] = [];
    for (const { path, graph } of model.graphs()) {
      nodesByGraph.push({ graph: path, nodes: graph.node?.length ?? 0 });
      for (const node of graph.node ?? []) {
        const domain = node.domain ?? '';
        const opType = domain === '' || domain === 'ai.onnx' ? (node.opType ?? '') : `${domain}:${node.opType ?? ''}`;
        opTypes.set(opType, (opTypes.get(opType) ?? 0) + 1);
        const value = node.opType === 'Constant' && domain === '' ? node.attribute?.find((attribute) => attribute.name === 'value')?.t : undefined;
        if (value) weights.push({ name: node.output?.[0] ?? '', graph: path, source: 'Constant', ...describeTensor(value) });
      }
      for (const tensor of graph.initializer ?? []) weights.push({ name: tensor.name ?? '', graph: path, source: 'initializer', ...describeTensor(tensor) });
    }
    const weightTensors = weights.filter((tensor) => WEIGHT_DTYPES.has(tensor.dtype)).sort((a, b) => b.elements - a.elements);
    const listed = weightTensors.slice(0, thresholds.maxTensorsListed);
    const omitted = weightTensors.slice(listed.length);
    const parameters = sum(weightTensors.map((tensor) => tensor.elements));
    const nodes = sum(nodesByGraph.map((graph) => graph.nodes));
    const ops = [...opTypes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const trainingSensitive = { batchNormalization: opTypes.get('BatchNormalization') ?? 0, dropout: opTypes.get('Dropout') ?? 0 };
    const details = {
      irVersion: model.irVersion,
      producer: model.producer,
      opsets: model.opsets,
      graphs: nodesByGraph.length,
      nodes,
      nodesByGraph: nodesByGraph.slice(0, thresholds.maxTensorsListed),
      opTypes: Object.fromEntries(ops),
      parameters,
      weightBytes: sum(weightTensors.map((tensor) => tensor.elements * ELEMENT_SIZES[tensor.dtype])),
      ...trainingSensitive,
      tensors: { count: weightTensors.length, listed, omitted: { count: omitted.length, elements: sum(omitted.map((tensor) => tensor.elements)) } },
    };
    const named = ops.slice(0, OPS_IN_MESSAGE).map(([op, count]) => `${op} ${count}`);
    if (ops.length > OPS_IN_MESSAGE) named.push(`${ops.length - OPS_IN_MESSAGE} more types`);
    const present = Object.entries({ BatchNormalization: trainingSensitive.batchNormalization, Dropout: trainingSensitive.dropout })
      .filter(([, count]) => count > 0)
      .map(([op, count]) => `${op} ×${count}`);
    const opsets = model.opsets.map((opset) => `${opset.domain || 'ai.onnx'} ${opset.version}`).join(', ');
    return {
      status: 'passed',
      value: parameters,
      message: [
        `${nodes} nodes in ${nodesByGraph.length} ${nodesByGraph.length === 1 ? 'graph' : 'graphs'} (${named.join(', ')})`,
        `IR ${model.irVersion}, opsets ${opsets}`,
        `${parameters.toLocaleString('en-US')} parameters in ${weightTensors.length} weight tensors (${mebibytes(details.weightBytes)})`,
        present.length > 0 ? `${present.join(', ')}: make sure the export ran in inference mode` : 'no BatchNormalization or Dropout',
      ].join('; '),
      details,
    };
  }

  recommend(): string {
    return 'The file does not parse as an ONNX model: export it again and check it with onnx.checker before registering.';
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 3 : 1)} MiB`;
}
