import { onnx } from 'onnx-proto';
import { findNonFiniteTensors } from './model-tensors';
import { OnnxModel } from './onnx-model';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const AttributeType = onnx.AttributeProto.AttributeType;

const raw = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const tensor = (name: string, values: number[]): onnx.ITensorProto => ({ name, dataType: FLOAT, dims: [values.length], rawData: raw(values) });
const constant = (output: string, value: onnx.ITensorProto, name = output): onnx.INodeProto => ({
  opType: 'Constant',
  name,
  output: [output],
  attribute: [{ name: 'value', type: AttributeType.TENSOR, t: value }],
});
const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto => ({
  opType,
  name: `${opType}_${output[0]}`,
  input,
  output,
  attribute,
});

function parse(graph: onnx.IGraphProto, functions: onnx.IFunctionProto[] = []): OnnxModel {
  const opsetImport = [
    { domain: '', version: 17 },
    { domain: 'local', version: 1 },
  ];
  return OnnxModel.parse(onnx.ModelProto.encode({ irVersion: 8, opsetImport, graph: { name: 'g', ...graph }, functions }).finish());
}

function byName(model: OnnxModel) {
  const { nonFinite } = findNonFiniteTensors(model);
  return Object.fromEntries(nonFinite.map((found) => [found.tensor, found]));
}

describe('findNonFiniteTensors', () => {
  it('names every non-finite initializer with its graph, count and first index, in raw, typed and float16 storage', () => {
    const thenBranch = { name: 'then', initializer: [{ name: 'branch_weight', dataType: FLOAT, dims: [1], rawData: raw([-Infinity]) }] };
    const model = parse({
      initializer: [
        tensor('clean', [1, 2, 3]),
        tensor('raw_nan', [0, NaN, 1, NaN]),
        { name: 'typed_inf', dataType: FLOAT, dims: [2], floatData: [Infinity, 1] },
        // 0x7c00 is +Inf and 0x7e00 a NaN in IEEE half precision.
        { name: 'half', dataType: FLOAT16, dims: [3], int32Data: [0x3c00, 0x7c00, 0x7e00] },
      ],
      node: [{ opType: 'If', name: 'choose', input: ['cond'], output: ['out'], attribute: [{ name: 'then_branch', type: AttributeType.GRAPH, g: thenBranch }] }],
    });
    const { nonFinite, unreadable, checked } = findNonFiniteTensors(model);
    expect(unreadable).toEqual([]);
    expect(checked).toBe(5);
    const found = Object.fromEntries(nonFinite.map((weight) => [weight.tensor, weight]));
    expect(Object.keys(found).sort()).toEqual(['branch_weight', 'half', 'raw_nan', 'typed_inf']);
    expect(found.raw_nan).toMatchObject({ graph: 'main', source: 'initializer', nanCount: 2, infCount: 0, firstIndex: 1 });
    expect(found.typed_inf).toMatchObject({ nanCount: 0, infCount: 1, firstIndex: 0 });
    expect(found.half).toMatchObject({ dtype: 'float16', nanCount: 1, infCount: 1, firstIndex: 1 });
    expect(found.branch_weight.graph).toContain('choose');
  });

  it('finds NaN in Constant nodes (value, value_float, value_floats), inside If branches, Loop bodies and model-local functions', () => {
    const elseBranch = { name: 'else', node: [constant('branch_w', tensor('', [1, NaN]))], output: [{ name: 'branch_w' }] };
    const loopBody = { name: 'body', node: [{ opType: 'Constant', name: 'step', output: ['step'], attribute: [{ name: 'value_float', type: AttributeType.FLOAT, f: NaN }] }] };
    const fn: onnx.IFunctionProto = {
      name: 'Scale',
      domain: 'local',
      input: ['x'],
      output: ['y'],
      node: [
        { opType: 'Constant', name: 'factors', output: ['factors'], attribute: [{ name: 'value_floats', type: AttributeType.FLOATS, floats: [1, NaN, 2] }] },
        node('Mul', ['x', 'factors'], ['y']),
      ],
    };
    const model = parse(
      {
        node: [
          constant('main_w', tensor('', [NaN])),
          { opType: 'If', name: 'branch', input: ['cond'], output: ['picked'], attribute: [{ name: 'else_branch', type: AttributeType.GRAPH, g: elseBranch }] },
          { opType: 'Loop', name: 'loop', input: ['n', 'c'], output: ['done'], attribute: [{ name: 'body', type: AttributeType.GRAPH, g: loopBody }] },
          { opType: 'Scale', domain: 'local', name: 'call', input: ['x'], output: ['scaled'] },
        ],
      },
      [fn],
    );
    const found = byName(model);
    expect(found.main_w).toMatchObject({ source: 'Constant', graph: 'main', nanCount: 1 });
    expect(found.branch_w).toMatchObject({ source: 'Constant', nanCount: 1, graph: expect.stringContaining('branch.else_branch') });
    expect(found.step).toMatchObject({ source: 'Constant', nanCount: 1, graph: expect.stringContaining('loop.body') });
    expect(found.factors).toMatchObject({ source: 'Constant', nanCount: 1, firstIndex: 1, graph: 'function local:Scale' });
  });

  it('finds NaN in sparse initializers, sparse Constants and tensor or float attributes of other nodes', () => {
    const sparse = (name: string, values: number[]): onnx.ISparseTensorProto => ({
      values: tensor(name, values),
      indices: { dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values.map((_, index) => index) },
      dims: [8],
    });
    const model = parse({
      sparseInitializer: [sparse('sparse_w', [1, NaN])],
      node: [
        { opType: 'Constant', name: 'sc', output: ['sparse_c'], attribute: [{ name: 'sparse_value', type: AttributeType.SPARSE_TENSOR, sparseTensor: sparse('', [NaN]) }] },
        { opType: 'ConstantOfShape', name: 'fill', input: ['shape'], output: ['filled'], attribute: [{ name: 'value', type: AttributeType.TENSOR, t: tensor('', [NaN]) }] },
        { opType: 'LeakyRelu', name: 'leaky', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', type: AttributeType.FLOAT, f: NaN }] },
      ],
    });
    const found = byName(model);
    expect(found.sparse_w).toMatchObject({ source: 'sparse initializer', nanCount: 1 });
    expect(found.sparse_c).toMatchObject({ source: 'Constant', nanCount: 1 });
    expect(found['fill.value']).toMatchObject({ source: 'attribute', nanCount: 1 });
    expect(found['leaky.alpha']).toMatchObject({ source: 'attribute', nanCount: 1, uses: ['LeakyRelu attribute alpha (node leaky)'] });
  });

  it('tells an infinity feeding weight arithmetic from a deliberate bound, mask or sentinel', () => {
    const elseBranch = { name: 'else', node: [constant('branch_w', tensor('', [Infinity]))], output: [{ name: 'branch_w' }] };
    const model = parse({
      initializer: [
        tensor('clip_min', [-Infinity]),
        tensor('clip_max', [Infinity]),
        tensor('mask', [0, -Infinity]),
        tensor('gamma', [1, Infinity]),
        tensor('sentinel', [Infinity]),
      ],
      node: [
        node('Clip', ['x', 'clip_min', 'clip_max'], ['clipped']),
        node('Add', ['scores', 'mask'], ['masked']),
        node('Softmax', ['masked'], ['attention']),
        node('Min', ['attention', 'sentinel'], ['floor']),
        // A weight reshaped and cast on its way to a MatMul is still a weight.
        constant('w', tensor('', [1, -Infinity])),
        node('Reshape', ['w', 'shape'], ['w2d']),
        node('Cast', ['w2d'], ['w16'], [{ name: 'to', type: AttributeType.INT, i: FLOAT16 }]),
        node('MatMul', ['floor', 'w16'], ['projected']),
        node('LayerNormalization', ['projected', 'gamma'], ['normalized']),
        { opType: 'If', name: 'pick', input: ['cond'], output: ['picked'], attribute: [{ name: 'else_branch', type: AttributeType.GRAPH, g: elseBranch }] },
        node('Conv', ['image', 'picked'], ['features']),
      ],
    });
    const found = byName(model);
    for (const bound of ['clip_min', 'clip_max', 'mask', 'sentinel']) expect(found[bound].feedsWeightArithmetic).toBe(false);
    expect(found.clip_min.uses).toEqual(['Clip input 1 (node Clip_clipped)']);
    expect(found.mask.uses).toEqual(['Add input 1 (node Add_masked)']);
    expect(found.w).toMatchObject({ source: 'Constant', feedsWeightArithmetic: true });
    expect(found.w.uses).toEqual(expect.arrayContaining(['MatMul input 1 (node MatMul_projected)']));
    expect(found.gamma.feedsWeightArithmetic).toBe(true);
    expect(found.branch_w.feedsWeightArithmetic).toBe(true);
  });

  it('follows a value into a model-local function whose body multiplies with it', () => {
    const fn: onnx.IFunctionProto = { name: 'Project', domain: 'local', input: ['x', 'weight'], output: ['y'], node: [node('Gemm', ['x', 'weight'], ['y'])] };
    const model = parse({ initializer: [tensor('w', [Infinity])], node: [{ opType: 'Project', domain: 'local', name: 'call', input: ['x', 'w'], output: ['out'] }] }, [fn]);
    expect(byName(model).w).toMatchObject({ feedsWeightArithmetic: true, uses: ['Project input 1 (node call)', 'Gemm input 1 (node Gemm_y)'] });
  });

  it('reports external tensors it cannot read instead of passing them unchecked', () => {
    const external = { name: 'far', dataType: FLOAT, dims: [2], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'weights.bin' }] };
    const model = parse({ initializer: [external], node: [constant('near', { ...external, name: '' })] });
    expect(findNonFiniteTensors(model).unreadable).toEqual([
      expect.objectContaining({ tensor: 'far', reason: expect.stringContaining('weights.bin') }),
      expect.objectContaining({ tensor: 'near', reason: expect.stringContaining('weights.bin') }),
    ]);
    const read = findNonFiniteTensors(model, () => raw([1, NaN]));
    expect(read.nonFinite).toEqual([expect.objectContaining({ tensor: 'far', nanCount: 1 }), expect.objectContaining({ tensor: 'near', nanCount: 1 })]);
  });
});
