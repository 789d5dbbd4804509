export { OnnxModel, OnnxParseError, externalDataOf } from './onnx-model';
export { findNonFiniteTensors, type NonFiniteTensor, type UnreadableTensor } from './model-tensors';
export type { ExternalDataRef, GraphLocation, TensorSpec } from './onnx-model';
export { OnnxSession, type Feeds, type SessionOptions } from './onnx-session';
export { resolveShape, stackExamples, synthesizeTensor, tensorValues } from './tensors';
export { measureLatency, measureLatencyPair, percentile, type LatencySummary } from './latency';
export { measureSessionMemory, type ProbeInput, type SessionMemory } from './memory-probe';
export { SeededRandom } from './seeded-random';
export { ELEMENT_SIZES, TENSOR_DTYPES, type TensorDtype } from './tensor-types';
