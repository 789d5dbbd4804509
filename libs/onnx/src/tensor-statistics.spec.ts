import { onnx } from 'onnx-proto';
import { describeTensor } from './tensor-statistics';

const { FLOAT, FLOAT16, BFLOAT16, INT64, INT8, STRING } = onnx.TensorProto.DataType;

/** A tensor as the model file holds it: decoded from protobuf bytes, so raw data sits unaligned inside the file's buffer. */
function asParsed(tensor: onnx.ITensorProto): onnx.ITensorProto {
  return onnx.TensorProto.decode(onnx.TensorProto.encode(tensor).finish());
}

describe('describeTensor', () => {
  it('gives mean, population standard deviation, min and max of float32 raw data', () => {
    const values = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const description = describeTensor(asParsed({ dims: [2, 4], dataType: FLOAT, rawData: new Uint8Array(values.buffer) }));
    expect(description).toMatchObject({ dtype: 'float32', shape: [2, 4], elements: 8, statistics: { count: 8, nonFinite: 0, mean: 4.5, min: 1, max: 8 } });
    expect(description.statistics!.std).toBeCloseTo(Math.sqrt(5.25), 12);
  });

  it('decodes float16 from int32_data and bfloat16 from raw bytes', () => {
    // 1, -2, 0.5 and 4 in float16 bits.
    expect(describeTensor({ dims: [4], dataType: FLOAT16, int32Data: [0x3c00, 0xc000, 0x3800, 0x4400] }).statistics).toMatchObject({ mean: 0.875, min: -2, max: 4 });
    // bfloat16 is the top half of a float32: 1.5 and -3.
    const bfloat16 = new Uint8Array(new Uint16Array([0x3fc0, 0xc040]).buffer);
    expect(describeTensor(asParsed({ dims: [2], dataType: BFLOAT16, rawData: bfloat16 })).statistics).toMatchObject({ mean: -0.75, min: -3, max: 1.5 });
  });

  it('reads integers from their typed fields and counts non-finite floats apart', () => {
    expect(describeTensor(asParsed({ dims: [3], dataType: INT64, int64Data: [-5, 0, 11] })).statistics).toMatchObject({ mean: 2, min: -5, max: 11 });
    expect(describeTensor({ dims: [2], dataType: INT8, rawData: Uint8Array.of(0xff, 0x03) }).statistics).toMatchObject({ mean: 1, min: -1, max: 3 });
    const poisoned = describeTensor({ dims: [3], dataType: FLOAT, floatData: [NaN, 2, Infinity] });
    expect(poisoned.statistics).toEqual({ count: 3, nonFinite: 2, mean: 2, std: 0, min: 2, max: 2 });
  });

  it('counts the elements of tensors it cannot read, saying why', () => {
    const external = describeTensor({
      dims: [1000, 10],
      dataType: FLOAT,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: 'weights.bin' }],
    });
    expect(external).toMatchObject({ elements: 10_000, statistics: null, unread: 'its data is external (weights.bin)' });
    expect(describeTensor({ dims: [1], dataType: STRING, stringData: [new Uint8Array(1)] })).toMatchObject({ statistics: null, unread: 'string tensors hold no numbers' });
  });
});
