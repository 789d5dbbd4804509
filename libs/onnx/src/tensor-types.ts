import { onnx } from 'onnx-proto';

const DataType = onnx.TensorProto.DataType;

/** ONNX element types by the names onnxruntime-node uses for tensor types. */
const ELEMENT_TYPE_NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.FLOAT16]: 'float16',
  [DataType.BFLOAT16]: 'bfloat16',
  [DataType.INT8]: 'int8',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.UINT8]: 'uint8',
  [DataType.UINT16]: 'uint16',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
  [DataType.STRING]: 'string',
  [DataType.COMPLEX64]: 'complex64',
  [DataType.COMPLEX128]: 'complex128',
};

export function elementTypeName(dataType: number | null | undefined): string {
  return ELEMENT_TYPE_NAMES[dataType ?? 0] ?? `unknown(${dataType ?? 0})`;
}

/** Bytes per element, for the types whose size is fixed. */
export const ELEMENT_SIZES: Record<string, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
  complex64: 8,
  complex128: 16,
};

export const FLOAT_TYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** The element types a registrant may declare for a tensor. */
export const TENSOR_DTYPES = ['float16', 'float32', 'float64', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];
