export { OnnxModel, OnnxParseError, externalDataOf, findNonFiniteWeights } from './onnx-model';
export type { ExternalDataReader, ExternalDataRef, GraphLocation, NonFiniteWeight, OpsetImport, TensorSpec, UnreadableWeight } from './onnx-model';
export { OnnxLoadError, OnnxSession, type Feeds, type Fetches, type SessionOptions } from './onnx-session';
export { TensorShapeError, resolveShape, stackExamples, synthesizeTensor, tensorValues, type ShapeResolution } from './tensors';
export { measureLatency, measureLatencyPair, percentile, summarizeLatency, type LatencySummary } from './latency';
export { MemoryProbeError, measureSessionMemory, type ProbeInput, type SessionMemory } from './memory-probe';
export { SeededRandom } from './seeded-random';
export { ELEMENT_SIZES, FLOAT_TYPES, elementTypeName } from './tensor-types';
