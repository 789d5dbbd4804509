import { onnx } from 'onnx-proto';
import { modeScalarModel } from '../../../test/fixtures/input-models';
import { standardFixtures } from '../../../test/fixtures/onnx-models';
import { classifierWithLogitsModel } from '../../../test/fixtures/regression-models';
import { OnnxModel } from './onnx-model';

const { FLOAT, FLOAT16, INT64 } = onnx.TensorProto.DataType;

/** A one-node model (Identity per output) with the given graph inputs, outputs and initializers, for values the fixtures never declare. */
function graphModel(graph: { input: onnx.IValueInfoProto[]; output: onnx.IValueInfoProto[]; initializer?: onnx.ITensorProto[] }, irVersion = 8): OnnxModel {
  const proto = onnx.ModelProto.create({ irVersion, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', node: [], ...graph } });
  return OnnxModel.parse(onnx.ModelProto.encode(proto).finish());
}

function tensorValue(name: string, elemType: number, dim?: onnx.TensorShapeProto.IDimension[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, ...(dim ? { shape: { dim } } : {}) } } };
}

describe('OnnxModel.tensorSchema', () => {
  it('reads the classifier fixtures as they were built: names, element types, symbolic dimensions by name', () => {
    const { classifier, sequenceClassifier } = standardFixtures();
    expect(OnnxModel.parse(classifier.model.bytes).tensorSchema()).toEqual({
      schema: {
        inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', 8] }],
        outputs: [{ name: 'probabilities', dtype: 'float32', shape: ['batch', 3] }],
      },
    });
    expect(OnnxModel.parse(sequenceClassifier.model.bytes).tensorSchema()).toEqual({ schema: sequenceClassifier.model.schema });
    const withLogits = classifierWithLogitsModel(classifier.weights);
    expect(OnnxModel.parse(withLogits.bytes).tensorSchema()).toEqual({ schema: withLogits.schema });
  });

  it('keeps an int64 scalar input as rank 0 and leaves out initializers an IR 3 graph lists as inputs', () => {
    expect(OnnxModel.parse(modeScalarModel().bytes).tensorSchema()).toEqual({
      schema: {
        inputs: [
          { name: 'audio', dtype: 'float32', shape: [1, 'samples'] },
          { name: 'sr', dtype: 'int64', shape: [] },
        ],
        outputs: [{ name: 'level', dtype: 'float32', shape: [1, 1] }],
      },
    });
    const model = graphModel(
      {
        input: [tensorValue('x', FLOAT16, [{ dimParam: 'n' }, {}, { dimParam: '' }]), tensorValue('w', INT64, [{ dimValue: 2 }])],
        output: [tensorValue('y', FLOAT16, [{ dimValue: 4 }])],
        initializer: [{ name: 'w', dataType: INT64, dims: [2], int64Data: [1, 2] }],
      },
      3,
    );
    expect(model.tensorSchema()).toEqual({
      schema: { inputs: [{ name: 'x', dtype: 'float16', shape: ['n', null, null] }], outputs: [{ name: 'y', dtype: 'float16', shape: [4] }] },
    });
  });

  it('names every value that is not a tensor with an element type and a shape, rather than guessing', () => {
    const model = graphModel({
      input: [tensorValue('x', FLOAT, [{ dimParam: 'batch' }]), tensorValue('unshaped', FLOAT), tensorValue('untyped', 0, [{ dimValue: 1 }])],
      output: [{ name: 'scores', type: { sequenceType: { elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } } } } }, { name: 'bare' }],
    });
    expect(model.tensorSchema()).toEqual({
      unreadable: [
        'input "unshaped" declares no shape, so its rank is unknown',
        'input "untyped" declares no element type',
        'output "scores" is a sequence, not a tensor',
        'output "bare" is of no declared type, not a tensor',
      ],
    });
  });
});
