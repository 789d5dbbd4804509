import * as ort from 'onnxruntime-node';
import { classifierForward, classifierModel, float16DoublingModel, standardFixtures } from '../../../test/fixtures/onnx-models';
import { OnnxModel, OnnxParseError } from './onnx-model';
import { OnnxLoadError, OnnxSession } from './onnx-session';
import { measureLatency, percentile, summarizeLatency } from './latency';
import { SeededRandom } from './seeded-random';
import { TensorShapeError, float16Bits, repeatAlong, resolveShape, stackExamples, synthesizeTensor, tensorValues, wholeTensor } from './tensors';

describe('OnnxModel', () => {
  it('refuses bytes that are not an ONNX protobuf', () => {
    expect(() => OnnxModel.parse(Buffer.from('definitely not protobuf'))).toThrow(OnnxParseError);
  });
});

describe('OnnxSession', () => {
  it('loads a model and describes its inputs and outputs with symbolic dimensions as null or their names', async () => {
    const session = await OnnxSession.load(standardFixtures().classifier.model.bytes);
    try {
      expect(session.inputs).toEqual([{ name: 'features', dtype: 'float32', shape: ['batch', 8] }]);
      expect(session.outputs).toEqual([{ name: 'probabilities', dtype: 'float32', shape: ['batch', 3] }]);
    } finally {
      await session.release();
    }
  });

  it("turns onnxruntime's refusal into an OnnxLoadError", async () => {
    await expect(OnnxSession.load(Buffer.from('nope'))).rejects.toThrow(OnnxLoadError);
  });
});

describe('resolveShape', () => {
  const resolution = { batchSize: 8, bindings: { seq: 16 }, defaultDimension: 1 };

  it('takes fixed dimensions as they are, then the declared size, a binding, the batch size for the first and the default', () => {
    expect(resolveShape({ name: 'x', dtype: 'float32', shape: [null, 'seq', null, 5] }, resolution)).toEqual([8, 16, 1, 5]);
    expect(resolveShape({ name: 'x', dtype: 'float32', shape: [null, null] }, resolution, { name: 'x', dtype: 'float32', shape: [2, 'seq'] })).toEqual([2, 16]);
  });
});

describe('stackExamples', () => {
  const spec = { name: 'features', dtype: 'float32', shape: [null, 2, 2] };

  it("stacks nested examples into one batch tensor of the model's type", () => {
    const tensor = stackExamples(spec, [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, true],
      ],
    ]);
    expect(tensor.dims).toEqual([2, 2, 2]);
    expect(Array.from(tensor.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 1]);
    const ids = stackExamples({ name: 'ids', dtype: 'int64', shape: [null, 3] }, [[1, 2, 3]]);
    expect(ids.data).toEqual(BigInt64Array.from([1n, 2n, 3n]));
  });

  it('names the example and what is wrong with it', () => {
    expect(() => stackExamples(spec, [[1, 2, 3, 4]], 10)).toThrow('example 10: input "features" has rank 1, the model expects rank 2');
    expect(() =>
      stackExamples(spec, [
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ]),
    ).toThrow('has size 3 in dimension 2, the model expects 2');
    expect(() =>
      stackExamples(
        spec,
        [
          [
            [1, 2],
            [3, 4],
          ],
          [[1, 2, 3], [4]],
        ],
        3,
      ),
    ).toThrow('example 4: input "features" has shape [2,3]');
    expect(() =>
      stackExamples(spec, [
        [
          [1, 'two'],
          [3, 4],
        ],
      ]),
    ).toThrow(TensorShapeError);
    expect(() => stackExamples({ name: 'text', dtype: 'string', shape: [null, 1] }, [[1]])).toThrow('cannot build inputs of type string');
  });
});

describe('synthesizeTensor and tensorValues', () => {
  it('synthesises the same values from the same seed and reads every numeric type back as numbers', () => {
    const first = synthesizeTensor('float32', [2, 3], new SeededRandom(7));
    const again = synthesizeTensor('float32', [2, 3], new SeededRandom(7));
    expect(first.data).toEqual(again.data);
    expect(Array.from(tensorValues(first))).toEqual(Array.from(first.data as Float32Array));
    expect(Array.from(tensorValues(new ort.Tensor('int64', BigInt64Array.from([5n, -2n]), [2])))).toEqual([5, -2]);
    expect(Array.from(tensorValues(new ort.Tensor('float16', Uint16Array.from([0x3c00, 0xc000, 0x7c00]), [3])))).toEqual([1, -2, Infinity]);
  });

  // Node 24 has Float16Array, and onnxruntime then holds float16 data in one; node 20 and 22 hold the bits in a Uint16Array.
  it('reads the float16 outputs of a float16 model as numbers and as bits, on every node version', async () => {
    const session = await OnnxSession.load(float16DoublingModel().bytes);
    try {
      const { y } = await session.run({ x: new ort.Tensor('float16', Uint16Array.from([0x3c00, 0xc000, 0x3800]), [1, 3]) });
      expect(Array.from(tensorValues(y))).toEqual([2, -4, 1]);
      expect(Array.from(float16Bits(y))).toEqual([0x4000, 0xc400, 0x3c00]);
      const synthesised = synthesizeTensor('float16', [1, 3], new SeededRandom(3));
      const doubled = tensorValues((await session.run({ x: synthesised })).y);
      expect(Array.from(doubled)).toEqual(Array.from(tensorValues(synthesised), (value) => 2 * value));
    } finally {
      await session.release();
    }
  });
});

describe('latency', () => {
  it('times only the runs after the warm-up and reads nearest-rank percentiles', async () => {
    let calls = 0;
    const measured = await measureLatency(async () => void calls++, { runs: 50, warmupRuns: 5 });
    expect(calls).toBe(55);
    expect(measured).toMatchObject({ runs: 50, warmupRuns: 5 });
    const summary = summarizeLatency(
      Array.from({ length: 100 }, (_, index) => 100 - index),
      5,
    );
    expect(summary).toEqual({ runs: 100, warmupRuns: 5, p50Ms: 50, p95Ms: 95, p99Ms: 99, meanMs: 50.5, maxMs: 100 });
    expect(percentile([], 50)).toBeNaN();
  });

  it('stops between runs once aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = async () => {
      if (++calls === 3) controller.abort(new Error('gate timed out'));
    };
    await expect(measureLatency(run, { runs: 50, warmupRuns: 5, signal: controller.signal })).rejects.toThrow('gate timed out');
    expect(calls).toBe(3);
  });
});

describe('the fixture models', () => {
  it('compute in onnxruntime what the trainer computed in TypeScript', async () => {
    const { classifier } = standardFixtures();
    const session = await OnnxSession.load(classifierModel(classifier.weights).bytes);
    try {
      const example = classifier.evaluation[0].inputs.features as number[];
      const fetched = await session.run({ features: new ort.Tensor('float32', Float32Array.from(example), [1, example.length]) });
      const computed = classifierForward(classifier.weights, example);
      Array.from(fetched.probabilities.data as Float32Array).forEach((value, index) => expect(value).toBeCloseTo(computed[index], 5));
    } finally {
      await session.release();
    }
  });
});

describe('wholeTensor and repeatAlong', () => {
  it('builds an input from its whole nested value, scalars included, and refuses a rank or size the model does not take', () => {
    expect(wholeTensor({ name: 'sr', dtype: 'int64', shape: [] }, 16000)).toMatchObject({ dims: [], data: BigInt64Array.of(16000n) });
    const state = wholeTensor({ name: 'state', dtype: 'float32', shape: [2, 'batch', 3] }, [[[1, 2, 3]], [[4, 5, 6]]]);
    expect([...state.dims]).toEqual([2, 1, 3]);
    expect(() => wholeTensor({ name: 'x', dtype: 'float32', shape: ['batch', 3] }, [1, 2, 3])).toThrow(/rank 1 .*batch dimension included/);
    expect(() => wholeTensor({ name: 'x', dtype: 'float32', shape: ['batch', 3] }, [[1, 2]])).toThrow(/size 2 in dimension 1, the model takes 3/);
    expect(() => wholeTensor({ name: 'x', dtype: 'float32', shape: ['batch', 'n'] }, [[1, 2], [3]])).toThrow(/ragged/);
  });

  it('repeats a tensor along any axis, leaving the other axes in order', () => {
    const state = new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 1, 3]);
    const batched = repeatAlong(state, 1, 2);
    expect([...batched.dims]).toEqual([2, 2, 3]);
    expect([...(batched.data as Float32Array)]).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    const leading = repeatAlong(new ort.Tensor('int64', BigInt64Array.of(7n, 8n), [1, 2]), 0, 3);
    expect([...(leading.data as BigInt64Array)]).toEqual([7n, 8n, 7n, 8n, 7n, 8n]);
  });
});
