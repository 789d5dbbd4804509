import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  classifierModel,
  constantWeightsClassifierModel,
  generativeModel,
  jsonLines,
  logOfInputsModel,
  nanAtRuntimeModel,
  refusedModel,
  standardFixtures,
  truncated,
  wrongSchema,
  type ModelFixture,
} from '../../../../../test/fixtures/onnx-models';
import {
  ARCHITECTURE_TENSORS,
  architectureModel,
  batchMeanClassifierModel,
  fixedBatchModel,
  partlyBrokenGenerativeModel,
  tracedAtBatchOneClassifierModel,
} from '../../../../../test/fixtures/validation-models';
import { modeScalarExample, modeScalarModel, reflectPaddedModel, SAMPLE_RATE } from '../../../../../test/fixtures/input-models';
import { GATE_CHECKS } from '..';
import { sequenceOutputClassifierModel } from '../../../../../test/fixtures/regression-models';
import { inferredSchemaOf } from './schema-match.check';
import { thresholdsFor, type CheckResult, type Thresholds } from '../../check';
import { GateContext, type GateDataset } from '../../gate-context';
import type { DatasetRole, IoSchema, Task } from '../../terms';
import { GateEngine } from '../../gate-engine';
import { DEFAULT_GATE_SETTINGS, type GateSettings } from '../../gate-settings';

const fixtures = standardFixtures();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Scenario {
  model?: ModelFixture;
  /** Overrides the model's own task. */
  task?: Task;
  files?: Record<string, Uint8Array>;
  /** Digests the manifest claims, where they differ from the bytes written. */
  manifest?: Record<string, string>;
  datasets?: Partial<Record<DatasetRole, object[] | string>>;
  schema?: IoSchema | null;
  metrics?: Record<string, number>;
  thresholds?: Thresholds;
  settings?: Partial<GateSettings>;
}

let workspace: string;
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'gatehouse-checks-'));
});
afterEach(() => rm(workspace, { recursive: true, force: true }));

/** Runs one check, exactly as the engine would in a gate, on files written to a fresh directory. */
async function run(id: string, scenario: Scenario): Promise<CheckResult> {
  const files = scenario.files ?? (scenario.model ? { 'model.onnx': scenario.model.bytes } : {});
  for (const [path, bytes] of Object.entries(files)) await writeFile(join(workspace, path), bytes);
  const datasets: GateDataset[] = [];
  for (const [role, rows] of Object.entries(scenario.datasets ?? {})) {
    const path = join(workspace, `${role}.jsonl`);
    await writeFile(path, typeof rows === 'string' ? rows : jsonLines(rows));
    datasets.push({ role: role as DatasetRole, name: role, path });
  }
  const check = GATE_CHECKS.find((candidate) => candidate.id === id)!;
  const task = scenario.task ?? scenario.model?.task ?? 'other';
  const context = new GateContext(
    {
      model: 'fixture',
      version: '1.0.0',
      task,
      declaredSchema: scenario.schema === undefined ? (scenario.model?.schema ?? null) : scenario.schema,
      reportedMetrics: scenario.metrics ?? {},
      files: Object.entries(files).map(([path, bytes]) => ({ path, sha256: scenario.manifest?.[path] ?? sha256(bytes), size: bytes.length })),
    },
    workspace,
    datasets,
    { ...DEFAULT_GATE_SETTINGS, ...scenario.settings },
  );
  const report = await new GateEngine(GATE_CHECKS).run(context, {
    stage: 'registered',
    task,
    settings: { ...DEFAULT_GATE_SETTINGS, ...scenario.settings },
    checks: [{ id, severity: check.severity, thresholds: thresholdsFor(check, task, scenario.thresholds) }],
  });
  return report.results[0];
}

const classifier = fixtures.classifier;
const classifierData = { evaluation: classifier.evaluation, training: classifier.training, reference: classifier.reference };

/** 100 of the classifier's examples, 85 of them relabelled class 0: a model that always answers 0 would meet the 0.85 floor. */
const mostlyClassZero = classifier.evaluation.slice(0, 100).map((row, index) => ({ ...row, label: index < 85 ? 0 : 1 }));
/** NaN for every example: argmax used to read each as class 0. */
const allNaN = nanAtRuntimeModel(classifier.weights);
/** 20 examples for the Log model, the largest feature at the label's index; the last one's negative feature makes its prediction NaN. */
const oneNaNOfTwenty = Array.from({ length: 20 }, (_, index) => ({ inputs: { features: index === 19 ? [-1, 0.5] : index % 2 ? [0.2, 0.8] : [0.8, 0.2] }, label: index % 2 }));
const NON_FINITE_ADVICE = /NaN or Inf on real inputs/;

describe('files_intact', () => {
  it('passes when every file hashes to its manifest digest', async () => {
    expect(await run('files_intact', { model: classifier.model })).toMatchObject({ status: 'passed', value: 1 });
  });

  it('fails naming a file whose bytes differ from the manifest', async () => {
    const result = await run('files_intact', { model: classifier.model, manifest: { 'model.onnx': 'f'.repeat(64) } });
    expect(result.status).toBe('failed');
    expect(result.message).toContain(`model.onnx hashes to ${sha256(classifier.model.bytes)}, expected ${'f'.repeat(64)}`);
  });
});

describe('size_limit', () => {
  it('passes under the limit and fails over it, with per-task defaults', async () => {
    expect((await run('size_limit', { model: classifier.model })).status).toBe('passed');
    expect((await run('size_limit', { model: classifier.model })).threshold).toBe(100 * 1024 * 1024);
    expect((await run('size_limit', { model: fixtures.generative.model })).threshold).toBe(150 * 1024 * 1024);
    const oversize = await run('size_limit', { model: classifierModel(classifier.weights, { paddingBytes: 2_000_000 }), thresholds: { maxMiB: 1 } });
    expect(oversize).toMatchObject({ status: 'failed', message: expect.stringContaining('over the 1 MiB limit for classification models') });
  });
});

describe('onnx_parses', () => {
  it('passes a real model and reports its opsets', async () => {
    const result = await run('onnx_parses', { model: classifier.model });
    expect(result.status).toBe('passed');
    expect(result.details?.opsets).toEqual([{ domain: '', version: 17 }]);
  });

  it('fails a truncated file', async () => {
    const result = await run('onnx_parses', { files: { 'model.onnx': truncated(classifier.model.bytes) } });
    expect(result).toMatchObject({ status: 'failed', message: expect.stringContaining('not a valid ONNX protobuf') });
  });

  it('skips a version without an ONNX file, and fails one with two and no model.onnx', async () => {
    expect((await run('onnx_parses', { files: { 'weights.bin': new Uint8Array(4) } })).status).toBe('skipped');
    const ambiguous = await run('onnx_parses', { files: { 'a.onnx': classifier.model.bytes, 'b.onnx': classifier.model.bytes } });
    expect(ambiguous).toMatchObject({ status: 'error', message: expect.stringContaining('2 ONNX files (a.onnx, b.onnx)') });
  });
});

describe('weights_finite', () => {
  it('passes finite weights', async () => {
    expect(await run('weights_finite', { model: classifier.model })).toMatchObject({ status: 'passed', value: 0 });
  });

  it.each([
    ['nan', /dense\.weight \(main\): 1 NaN, first at index 5/],
    ['inf', /dense\.weight \(main\): 1 Inf, first at index 5/],
  ] as const)('fails a %s weight, naming the tensor and where', async (poison, message) => {
    const result = await run('weights_finite', { model: classifierModel(classifier.weights, { poison }) });
    expect(result).toMatchObject({ status: 'failed', value: 1, message: expect.stringMatching(message) });
  });

  it('fails a NaN weight kept in a Constant node inside the branch no run takes', async () => {
    expect((await run('weights_finite', { model: constantWeightsClassifierModel(classifier.weights) })).status).toBe('passed');
    const result = await run('weights_finite', { model: constantWeightsClassifierModel(classifier.weights, { poisonUntakenBranch: true }) });
    expect(result).toMatchObject({ status: 'failed', value: 1, message: expect.stringMatching(/fallback\.weight \(main\/if_scores\.else_branch, Constant\): 1 NaN/) });
  });

  it('passes infinite Clip bounds, naming each and its use', async () => {
    const result = await run('weights_finite', { model: classifierModel(classifier.weights, { infiniteClip: true }) });
    expect(result).toMatchObject({ status: 'passed', value: 0 });
    expect(result.message).toContain('clip.min (main): 1 Inf, first at index 0, used by Clip input 1 (node clip_clipped)');
    expect(result.details?.tolerated).toHaveLength(2);
  });

  it('fails an infinite weight naming the weight arithmetic it feeds', async () => {
    const result = await run('weights_finite', { model: classifierModel(classifier.weights, { poison: 'inf' }) });
    expect(result.message).toContain('feeding MatMul input 1 (node matmul_scores)');
  });
});

describe('architecture', () => {
  const scale = ARCHITECTURE_TENSORS['bn.scale'];
  const scaleMean = scale.reduce((a, b) => a + b, 0) / scale.length;
  const scaleStd = Math.sqrt(scale.reduce((total, value) => total + (value - scaleMean) ** 2, 0) / scale.length);

  it('reports operators, nodes in every graph, opsets, parameters and statistics per weight tensor', async () => {
    const { features, classes } = classifier.weights;
    const result = await run('architecture', { model: architectureModel(classifier.weights) });
    expect(result).toMatchObject({ status: 'passed', severity: 'warning' });
    // BatchNormalization's four vectors, a Constant bias, a weight in each If branch, the unused float16 vector; the bool condition holds no weights.
    const parameters = 4 * features + classes + 2 * features * classes + 4;
    expect(result.value).toBe(parameters);
    expect(result.details).toMatchObject({
      irVersion: 8,
      opsets: [{ domain: '', version: 17 }],
      graphs: 3,
      nodes: 9,
      nodesByGraph: [
        { graph: 'main', nodes: 7 },
        { graph: 'main/if_scores.else_branch', nodes: 1 },
        { graph: 'main/if_scores.then_branch', nodes: 1 },
      ],
      opTypes: { Constant: 2, MatMul: 2, Add: 1, BatchNormalization: 1, Dropout: 1, If: 1, Softmax: 1 },
      parameters,
      batchNormalization: 1,
      dropout: 1,
      tensors: { count: 8, omitted: { count: 0, elements: 0 } },
    });
    const listed = (result.details?.tensors as { listed: { name: string; graph: string; source: string; statistics: Record<string, number> }[] }).listed;
    expect(
      listed
        .map((tensor) => tensor.name)
        .slice(0, 2)
        .sort(),
    ).toEqual(['dense.weight', 'fallback.weight']);
    const bnScale = listed.find((tensor) => tensor.name === 'bn.scale')!;
    expect(bnScale).toMatchObject({ graph: 'main', source: 'initializer', dtype: 'float32', shape: [features], elements: features });
    expect(bnScale.statistics).toMatchObject({ count: 8, nonFinite: 0, min: 1, max: 8, mean: scaleMean });
    expect(bnScale.statistics.std).toBeCloseTo(scaleStd, 12);
    expect(listed.find((tensor) => tensor.name === 'unused.half')!.statistics).toMatchObject({ min: -2, max: 4, mean: 0.875 });
    expect(listed.find((tensor) => tensor.name === 'head.bias')).toMatchObject({ source: 'Constant', graph: 'main', elements: classes });
    expect(listed.find((tensor) => tensor.name === 'fallback.weight')).toMatchObject({ graph: 'main/if_scores.else_branch' });
    expect(result.message).toMatch(
      /^9 nodes in 3 graphs \(Constant 2, MatMul 2, Add 1, .*\); IR 8, opsets ai\.onnx 17; \d+ parameters in 8 weight tensors \(.* MiB\); BatchNormalization ×1, Dropout ×1: /,
    );
  });

  it('lists only the largest tensors of a large model, with totals for the rest', async () => {
    const result = await run('architecture', { model: architectureModel(classifier.weights), thresholds: { maxTensorsListed: 2 } });
    const tensors = result.details?.tensors as { count: number; listed: { elements: number }[]; omitted: { count: number; elements: number } };
    expect(tensors.listed.map((tensor) => tensor.elements)).toEqual([24, 24]);
    expect(tensors.omitted).toEqual({ count: 6, elements: (result.value as number) - 48 });
  });

  it('says so when neither BatchNormalization nor Dropout is there', async () => {
    const result = await run('architecture', { model: classifier.model });
    expect(result).toMatchObject({ status: 'passed', value: 8 * 3 + 3, details: { batchNormalization: 0, dropout: 0 } });
    expect(result.message).toContain('no BatchNormalization or Dropout');
  });

  it('fails, as a warning, only a model that cannot be parsed', async () => {
    const result = await run('architecture', { files: { 'model.onnx': truncated(classifier.model.bytes) } });
    expect(result).toMatchObject({ status: 'warning', message: expect.stringContaining('the model cannot be parsed') });
  });
});

describe('model_loads', () => {
  it('loads a real model and fails one onnxruntime refuses', async () => {
    expect((await run('model_loads', { model: classifier.model })).status).toBe('passed');
    const refused = await run('model_loads', { model: refusedModel() });
    expect(refused).toMatchObject({ status: 'failed', message: expect.stringContaining('onnxruntime refused the model') });
  });
});

describe('schema_match', () => {
  it('passes the schema the model has', async () => {
    expect(await run('schema_match', { model: classifier.model })).toMatchObject({
      status: 'passed',
      message: 'the declared schema matches the model: 1 input (features float32 ["batch",8]); 1 output (probabilities float32 ["batch",3])',
      details: { source: 'declared' },
    });
  });

  it('fails a declared schema that differs, naming each difference', async () => {
    const result = await run('schema_match', { model: classifier.model, schema: wrongSchema(classifier.model.schema) });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/declared input ".*" is not in the model/);
    expect(result.message).toMatch(/model input "features" is not declared/);
    expect(result.message).toMatch(/output "probabilities" dimension 1 is fixed at 3 in the model, declared 4/);
  });

  it("infers the model's own schema when none is declared, saying so, and that satisfies a stage requiring one", async () => {
    for (const thresholds of [{ required: false }, { required: true }]) {
      const result = await run('schema_match', { model: fixtures.sequenceClassifier.model, schema: null, thresholds });
      expect(result).toMatchObject({
        status: 'passed',
        message: 'no schema declared; inferred from the model: 1 input (tokens float32 ["batch","seq",8]); 1 output (probabilities float32 ["batch",3])',
        details: { source: 'inferred', schema: fixtures.sequenceClassifier.model.schema },
      });
      expect(inferredSchemaOf({ results: [result] })).toEqual(fixtures.sequenceClassifier.model.schema);
    }
    expect(inferredSchemaOf({ results: [await run('schema_match', { model: classifier.model })] })).toBeNull();
  });

  it('skips, or fails where a schema is required, a model whose graph gives none and that declares none, naming the value', async () => {
    const model = sequenceOutputClassifierModel(classifier.weights);
    const skipped = await run('schema_match', { model, schema: null });
    expect(skipped).toMatchObject({
      status: 'skipped',
      message: 'the version declares no input/output schema and the model\'s graph gives none: output "probability_list" is a sequence, not a tensor',
    });
    const required = await run('schema_match', { model, schema: null, thresholds: { required: true } });
    expect(required).toMatchObject({ status: 'failed', message: expect.stringContaining('this stage requires a schema') });
    expect(required.recommendation).toContain('gatehouse register --schema schema.json');
  });

  it('does not take a forged inferred schema from a report', () => {
    const forged = { id: 'schema_match', status: 'passed', details: { source: 'inferred', schema: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1] }], outputs: [] } } };
    expect(inferredSchemaOf({ results: [forged as unknown as CheckResult] })).toBeNull();
  });
});

describe('smoke_run', () => {
  it('passes finite outputs of the declared shapes', async () => {
    const result = await run('smoke_run', { model: classifier.model });
    expect(result.status).toBe('passed');
    expect(result.details?.runs).toEqual([{ inputs: 'synthesised inputs', inputShapes: { features: [2, 8] }, outputShapes: { probabilities: [2, 3] } }]);
  });

  it('fails outputs that are NaN at run time', async () => {
    const result = await run('smoke_run', { model: nanAtRuntimeModel(classifier.weights) });
    expect(result).toMatchObject({ status: 'failed', message: expect.stringContaining('output "probabilities" has 6 of 6 values NaN or Inf') });
  });

  it('resolves symbolic dimensions from the policy, then the declared schema', async () => {
    const model = fixtures.sequenceClassifier.model;
    const fromPolicy = await run('smoke_run', { model, settings: { dimensions: { seq: 7 } } });
    expect(fromPolicy.status).toBe('passed');
    expect(fromPolicy.details?.runs).toMatchObject([{ inputShapes: { tokens: [2, 7, 8] } }]);
    const declared = { ...model.schema, inputs: [{ ...model.schema.inputs[0], shape: ['batch', 5, 8] }] } as IoSchema;
    const fromSchema = await run('smoke_run', { model, schema: declared });
    expect(fromSchema.details?.runs).toMatchObject([{ inputShapes: { tokens: [2, 5, 8] } }]);
    const unnamed = await run('smoke_run', { model });
    expect(unnamed.details?.runs).toMatchObject([{ inputShapes: { tokens: [2, 16, 8] } }]);
    expect(unnamed.message).toContain('unnamed dimensions 16');
  });

  it("leaves a generative model's samples to sample_quality: finite outputs of the right shapes pass", async () => {
    const exploding = await run('smoke_run', { model: fixtures.explodingGenerative.model });
    expect(exploding.status).toBe('passed');
  });
});

describe('smoke_run on models synthesised inputs cannot run', () => {
  const modeScalar = modeScalarModel();

  it('fails a model whose mode scalar errors on synthesised values, with its error and the role to register', async () => {
    const result = await run('smoke_run', { model: modeScalar });
    expect(result).toMatchObject({ status: 'failed', details: { cause: 'synthesised_inputs' } });
    expect(result.message).toMatch(/^the model fails on synthesised inputs: .*Reshape/);
    expect(result.recommendation).toContain('role example');
    expect(result.recommendation).toContain('--input-example');
  });

  it('runs every input example, passing sound ones and naming the one whose output is NaN', async () => {
    const sound = await run('smoke_run', { model: modeScalar, datasets: { example: [modeScalarExample(1), modeScalarExample(4, { samples: 100 })] } });
    expect(sound).toMatchObject({ status: 'passed', message: 'ran on input examples example (2 examples, lines 1–2): outputs finite and shaped as declared' });
    expect(sound.details?.runs).toEqual([
      { inputs: 'example line 1', inputShapes: { audio: [1, 32], sr: [] }, outputShapes: { level: [1, 1] } },
      { inputs: 'example line 2', inputShapes: { audio: [1, 100], sr: [] }, outputShapes: { level: [1, 1] } },
    ]);
    const oneBad = await run('smoke_run', { model: modeScalar, datasets: { example: [modeScalarExample(1), modeScalarExample(-1)] } });
    expect(oneBad).toMatchObject({ status: 'failed', value: 1, message: 'example line 2: output "level" has 1 of 1 values NaN or Inf' });
    const wrongRate = await run('smoke_run', { model: modeScalar, datasets: { example: [modeScalarExample(1, { sr: 8000 })] } });
    expect(wrongRate.message).toMatch(/^example line 1: the run failed: .*Reshape/);
  });

  it('fails input examples that are not complete feeds, naming the line and what to give', async () => {
    const cases: [object, RegExp][] = [
      [{ inputs: { audio: [[1, 2]] } }, /line 1 has no input "sr": an example gives every input the model takes \(audio, sr\)/],
      [{ inputs: { audio: [1, 2], sr: SAMPLE_RATE } }, /line 1: input "audio" has rank 1 .*the model takes rank 2 .*batch dimension included/],
      [{ inputs: { audio: [[1, 2]], sr: SAMPLE_RATE, rate: 1 } }, /line 1 gives "rate", which the model does not take/],
    ];
    for (const [example, message] of cases) {
      const result = await run('smoke_run', { model: modeScalar, datasets: { example: [example] } });
      expect(result).toMatchObject({ status: 'failed', details: { cause: 'input_examples' }, message: expect.stringMatching(message) });
      expect(result.recommendation).toContain('whole tensor of one call');
    }
  });

  it('tries larger sizes for unnamed dimensions until the model runs, and names them', async () => {
    const result = await run('smoke_run', { model: reflectPaddedModel() });
    expect(result).toMatchObject({ status: 'passed', details: { runs: [{ inputShapes: { frames: [2, 64] }, outputShapes: { padded: [2, 144] } }] } });
    expect(result.message).toMatch(/unnamed dimensions 64; 16 failed first \(.*Pad/);
  });
});

describe('batch_sizes', () => {
  it('makes the first input example into each batch, along the batch axis', async () => {
    const features = classifier.evaluation[0].inputs.features as number[];
    const result = await run('batch_sizes', { model: classifier.model, datasets: { example: [{ inputs: { features: [features] } }] } });
    expect(result).toMatchObject({ status: 'passed', details: { inputs: 'input examples example (line 1)' } });
    expect((result.details?.runs as { inputShapes: object }[]).map((batch) => batch.inputShapes)).toEqual([{ features: [1, 8] }, { features: [4, 8] }, { features: [16, 8] }]);
  });

  it('runs a model with a symbolic batch at 1, 4 and 16, holding outputs to the declared shapes', async () => {
    const result = await run('batch_sizes', { model: classifier.model });
    expect(result).toMatchObject({
      status: 'passed',
      value: 0,
      message: 'finite outputs of the declared shapes at batch sizes 1, 4, 16, the first run on synthesised inputs features [1,8] (unnamed dimensions 16)',
    });
    expect((result.details?.runs as { batchSize: number; outputShapes: object }[]).map((run) => [run.batchSize, run.outputShapes])).toEqual([
      [1, { probabilities: [1, 3] }],
      [4, { probabilities: [4, 3] }],
      [16, { probabilities: [16, 3] }],
    ]);
  });

  it('fails a model whose output loses the batch at every size but 1', async () => {
    const result = await run('batch_sizes', { model: batchMeanClassifierModel(classifier.weights), thresholds: { batchSizes: [1, 3] } });
    expect(result).toMatchObject({ status: 'failed', value: 1 });
    expect(result.message).toBe('batch 3: output "probabilities" has shape [1,3], expected ["batch",3]: dimension 0 ("batch") is 1, but "batch" is 3 in the inputs');
  });

  it('fails a model onnxruntime cannot run at other batch sizes, naming each size', async () => {
    const result = await run('batch_sizes', { model: tracedAtBatchOneClassifierModel(classifier.weights) });
    expect(result).toMatchObject({ status: 'failed', value: 2 });
    expect(result.message).toMatch(/^batch 4: the run failed: .*Input shape:\{4,8\}, requested shape:\{1,8\}; batch 16: the run failed: .*Input shape:\{16,8\}/s);
  });

  it('skips a model whose batch is fixed, in the model or by the declared schema', async () => {
    const fixed = await run('batch_sizes', { model: fixedBatchModel(classifier.model, 4) });
    expect(fixed).toMatchObject({ status: 'skipped', message: 'the batch dimension is fixed: features [4,8] (in the model), so there is no batch size to vary' });
    const declared = await run('batch_sizes', { model: classifier.model, schema: fixedBatchModel(classifier.model, 2).schema });
    expect(declared.message).toContain('features [2,8] (by the declared schema or settings.dimensions)');
  });
});

describe('sample_quality', () => {
  it('draws 16 samples from seeded noise in batches and passes sound ones', async () => {
    const result = await run('sample_quality', { model: fixtures.generative.model });
    expect(result).toMatchObject({ status: 'passed', value: 1, threshold: 0.9, message: '16 of 16 samples sound (1.000, at least 0.9 needed)' });
    expect(result.details).toMatchObject({ samples: 16, valid: 16, batches: 4, batchSize: 4, failed: [] });
    const [lowestStd, highestStd] = result.details?.stdRange as [number, number];
    expect(lowestStd).toBeGreaterThan(0.1);
    expect(highestStd).toBeLessThan(3);
  });

  it('fails exploding and collapsed samplers, naming the reason', async () => {
    const exploding = await run('sample_quality', { model: fixtures.explodingGenerative.model });
    expect(exploding).toMatchObject({ status: 'failed', value: 0, message: expect.stringMatching(/^0 of 16 samples sound .*standard deviation at least 3 \(exploding\)/) });
    const collapsed = await run('sample_quality', { model: generativeModel({ seed: 5, scale: 0.01 }) });
    expect(collapsed).toMatchObject({ status: 'failed', value: 0, message: expect.stringContaining('16 standard deviation at most 0.1 (collapsed)') });
    expect(collapsed.recommendation).toContain('collapsed');
  });

  it.each(['exploding', 'nan'] as const)('judges each sample alone: a sampler %s for part of the noise fails on the share of sound samples', async (failure) => {
    const model = partlyBrokenGenerativeModel({ seed: 5, failure });
    const result = await run('sample_quality', { model, thresholds: { samples: 32 } });
    expect(result.status).toBe('failed');
    const share = result.value as number;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.8);
    const failures = result.details?.failures as Record<string, number>;
    const unsound = 32 - (result.details?.valid as number);
    // An exploding sample's mean can be out of range before its spread is.
    if (failure === 'nan') expect(failures).toEqual({ 'non-finite': unsound, mean: 0, collapsed: 0, exploding: 0 });
    else expect(failures.mean + failures.exploding).toBe(unsound);
    expect((result.details?.failed as unknown[]).length).toBe(10);
    expect((await run('sample_quality', { model, thresholds: { samples: 32, minSampleQuality: share } })).status).toBe('passed');
  });

  it('draws one batch at a time from a sampler fixed at batch 1, each on fresh noise', async () => {
    const result = await run('sample_quality', { model: fixedBatchModel(fixtures.generative.model, 1), thresholds: { samples: 6 } });
    expect(result).toMatchObject({ status: 'passed', details: { samples: 6, batches: 6, batchSize: 1 } });
    const [lowestMean, highestMean] = result.details?.meanRange as [number, number];
    expect(highestMean).toBeGreaterThan(lowestMean);
  });
});

describe('evaluation', () => {
  it('measures accuracy and macro-F1 by running the model over the evaluation dataset', async () => {
    const result = await run('evaluation', { model: classifier.model, datasets: classifierData });
    expect(result.status).toBe('passed');
    expect(result.value).toBeCloseTo(classifier.accuracy, 10);
    expect(result.details?.measured).toMatchObject({ examples: classifier.evaluation.length, batches: Math.ceil(classifier.evaluation.length / 64) });
  });

  it('fails a degraded model on the accuracy floor', async () => {
    const result = await run('evaluation', { model: fixtures.degradedClassifier.model, datasets: classifierData });
    expect(result.status).toBe('failed');
    expect(result.value).toBeCloseTo(fixtures.degradedClassifier.accuracy, 10);
    expect(result.message).toMatch(/accuracy 0\.\d{4} is below 0\.85/);
  });

  it('measures MAE and RMSE for a regressor against its thresholds', async () => {
    const regressor = fixtures.regressor;
    const scenario = { model: regressor.model, datasets: { evaluation: regressor.evaluation } };
    const within = await run('evaluation', { ...scenario, thresholds: { maxMae: regressor.mae * 1.01 } });
    expect(within.status).toBe('passed');
    expect(within.value).toBeCloseTo(regressor.mae, 4);
    const over = await run('evaluation', { ...scenario, thresholds: { maxMae: regressor.mae / 2 } });
    expect(over).toMatchObject({ status: 'failed', message: expect.stringContaining('is above') });
  });

  it('fails an all-NaN classifier on data where the majority class alone would meet the floor', async () => {
    const result = await run('evaluation', { model: allNaN, datasets: { evaluation: mostlyClassZero } });
    expect(result).toMatchObject({ status: 'failed', value: 0, details: { nonFinitePredictions: 100 }, recommendation: expect.stringMatching(NON_FINITE_ADVICE) });
    expect(result.message).toMatch(/^the model predicted NaN or Inf for 100 of 100 examples of evaluation, each counted wrong; accuracy 0\.0000 is below 0\.85/);
  });

  it('fails a classifier with one NaN prediction, though its accuracy clears the floor', async () => {
    const result = await run('evaluation', { model: logOfInputsModel('classification', 2), datasets: { evaluation: oneNaNOfTwenty } });
    expect(result).toMatchObject({ status: 'failed', value: 0.95, details: { nonFinitePredictions: 1 } });
    expect(result.message).toMatch(/^the model predicted NaN or Inf for 1 of 20 examples of evaluation, each counted wrong \(accuracy 0\.9500/);
  });

  it("fails a regressor's NaN and Inf predictions, measuring MAE over the finite ones, also where no MAE threshold is set", async () => {
    const rows = [Math.E, 1, -1, 0].map((x, index) => ({ inputs: { features: [x] }, label: [1.5, 0, 3, 0][index] }));
    const result = await run('evaluation', { model: logOfInputsModel('regression', 1), datasets: { evaluation: rows } });
    expect(result).toMatchObject({ status: 'failed', details: { nonFinitePredictions: 2 } });
    expect(result.value).toBeCloseTo(0.25, 6);
    expect(result.message).toMatch(/^the model predicted NaN or Inf for 2 of 4 examples of evaluation \(MAE 0\.2500, RMSE 0\.3536 over the 2 finite predictions on 4 examples/);
    const nothingFinite = await run('evaluation', {
      model: logOfInputsModel('regression', 1),
      datasets: { evaluation: rows.map((row) => ({ ...row, inputs: { features: [-1] } })) },
    });
    expect(nothingFinite).toMatchObject({ status: 'failed', value: null, message: expect.stringContaining('4 of 4 examples of evaluation (no finite prediction on 4 examples') });
  });

  it('fails on a malformed dataset, naming the line', async () => {
    const rows = `${jsonLines(classifier.evaluation.slice(0, 3))}{"inputs": {"features": [1, 2]}, "label": 0}\n`;
    const result = await run('evaluation', { model: classifier.model, datasets: { evaluation: rows } });
    expect(result).toMatchObject({ status: 'error', message: expect.stringContaining('line 4') });
  });

  it('skips without a dataset unless required', async () => {
    expect((await run('evaluation', { model: classifier.model })).status).toBe('skipped');
    expect((await run('evaluation', { model: classifier.model, thresholds: { required: true } })).status).toBe('failed');
  });
});

describe('train_accuracy', () => {
  it('measures on the training dataset when it is stored', async () => {
    const result = await run('train_accuracy', { model: classifier.model, datasets: classifierData });
    expect(result).toMatchObject({ status: 'passed', details: { source: 'measured' } });
    expect((result.details!.measured as { examples: number }).examples).toBe(classifier.training.length);
  });

  it('measures only the first settings.trainingExamples examples', async () => {
    const result = await run('train_accuracy', { model: classifier.model, datasets: classifierData, settings: { trainingExamples: 300 } });
    expect((result.details!.measured as { examples: number }).examples).toBe(300);
  });

  it('fails NaN predictions on the training data, naming how many', async () => {
    const result = await run('train_accuracy', { model: allNaN, datasets: { training: mostlyClassZero } });
    expect(result).toMatchObject({ status: 'failed', value: 0, details: { nonFinitePredictions: 100 }, recommendation: expect.stringMatching(NON_FINITE_ADVICE) });
    expect(result.message).toMatch(/^the model predicted NaN or Inf for 100 of 100 examples of training, each counted wrong; training accuracy 0\.0000 is below 0\.8/);
  });

  it('falls back to the reported metric, and fails it under the floor', async () => {
    const result = await run('train_accuracy', { model: classifier.model, metrics: { train_accuracy: 0.7 } });
    expect(result).toMatchObject({ status: 'failed', value: 0.7, details: { source: 'reported' } });
    expect((await run('train_accuracy', { model: classifier.model })).status).toBe('skipped');
  });
});

describe('final_loss', () => {
  it("holds a generative model's final loss to the ceiling", async () => {
    expect((await run('final_loss', { model: fixtures.generative.model, metrics: { final_loss: 0.3 } })).status).toBe('passed');
    expect(await run('final_loss', { model: fixtures.generative.model, metrics: { final_loss: 0.9 } })).toMatchObject({ status: 'failed', value: 0.9 });
  });

  it('fails NaN samples on the evaluation data, also where the loss comes from the report', async () => {
    const latents = [[1], [-1], [2]].map((features) => ({ inputs: { features } }));
    const scenario = { model: logOfInputsModel('regression', 1), task: 'generative' as const, datasets: { evaluation: latents } };
    const reported = await run('final_loss', { ...scenario, metrics: { final_loss: 0.3 } });
    expect(reported).toMatchObject({ status: 'failed', value: 0.3, recommendation: expect.stringMatching(NON_FINITE_ADVICE) });
    expect(reported.message).toBe('the model predicted NaN or Inf for 1 of 3 examples of evaluation; loss 0.3000 is within 0.5, as reported (metrics.final_loss)');
    expect(await run('final_loss', scenario)).toMatchObject({ status: 'failed', value: null, message: 'the model predicted NaN or Inf for 1 of 3 examples of evaluation' });
  });
});

describe('reported_metrics', () => {
  it('passes reported metrics that match the measurements', async () => {
    const result = await run('reported_metrics', { model: classifier.model, datasets: classifierData, metrics: { accuracy: classifier.accuracy } });
    expect(result.status).toBe('passed');
  });

  it('warns, naming both numbers, when a reported metric is off', async () => {
    const result = await run('reported_metrics', { model: fixtures.degradedClassifier.model, datasets: classifierData, metrics: { accuracy: 0.99 } });
    expect(result.status).toBe('warning');
    expect(result.message).toMatch(/reported accuracy 0\.99 but measured 0\.\d+/);
  });

  it('does not compare reported metrics with measurements that counted NaN predictions wrong', async () => {
    const result = await run('reported_metrics', { model: allNaN, datasets: { evaluation: mostlyClassZero }, metrics: { accuracy: 0.85 } });
    // A warning-severity check's failure reports as a warning.
    expect(result).toMatchObject({ status: 'warning', value: 100, message: 'the model predicted NaN or Inf for 100 of 100 examples of evaluation' });
    expect(result.recommendation).toMatch(NON_FINITE_ADVICE);
  });
});

describe('output_consistency', () => {
  it('passes outputs within 1e-4 of the reference and fails drifted ones', async () => {
    expect((await run('output_consistency', { model: classifier.model, datasets: classifierData })).status).toBe('passed');
    const drifted = classifier.reference.map((row, index) =>
      index === 3 ? { ...row, outputs: { probabilities: row.outputs.probabilities.map((p, i) => (i === 0 ? p + 0.01 : p)) } } : row,
    );
    const result = await run('output_consistency', { model: classifier.model, datasets: { reference: drifted } });
    expect(result.status).toBe('failed');
    expect(result.message).toContain('line 4, output "probabilities"[0]');
  });
});

describe('latency', () => {
  it('reports percentiles over at least 50 runs and fails over its budget', async () => {
    const result = await run('latency', { model: classifier.model });
    expect(result.status).toBe('passed');
    expect(result.details).toMatchObject({ runs: 50, warmupRuns: 5 });
    expect(result.details?.p50Ms as number).toBeLessThanOrEqual(result.details?.p95Ms as number);
    const slow = await run('latency', { model: classifier.model, thresholds: { maxP95Ms: 0.000001 } });
    expect(slow).toMatchObject({ status: 'failed', message: expect.stringContaining('p95') });
  });

  it('benchmarks batch 1 and the policy batch size, with throughput, judging batch 1', async () => {
    const result = await run('latency', { model: classifier.model, settings: { batchSize: 32 } });
    const benchmarks = result.details?.benchmarks as { batchSize: number; runs: number; meanMs: number; p95Ms: number; throughputPerSecond: number }[];
    expect(benchmarks.map((benchmark) => [benchmark.batchSize, benchmark.runs])).toEqual([
      [1, 50],
      [32, 50],
    ]);
    for (const benchmark of benchmarks) expect(benchmark.throughputPerSecond).toBeCloseTo((benchmark.batchSize * 1000) / benchmark.meanMs, 6);
    expect(result.value).toBe(benchmarks[0].p95Ms);
    expect(result.details).toMatchObject({ batchSize: 1, p95Ms: benchmarks[0].p95Ms });
    expect(result.message).toMatch(/^batch 1: p50 .* examples\/s; batch 32: p50 .*, p99 [\d.]+ ms, [\d.]+ examples\/s; over 50 runs each; memory \+/);
  });

  it('times a model with a fixed batch once, at its own batch size', async () => {
    const result = await run('latency', { model: fixedBatchModel(classifier.model, 4) });
    expect((result.details?.benchmarks as { batchSize: number }[]).map((benchmark) => benchmark.batchSize)).toEqual([4]);
    expect(result.message).toContain('(the batch dimension is fixed: features [4,8] (in the model))');
  });
});

describe('the engine', () => {
  it('skips a check whose prerequisite failed instead of failing it twice', async () => {
    const context = new GateContext(
      { model: 'm', version: '1', task: 'classification', declaredSchema: null, reportedMetrics: {}, files: [{ path: 'model.onnx', sha256: null, size: 10 }] },
      workspace,
      [],
      DEFAULT_GATE_SETTINGS,
    );
    await writeFile(join(workspace, 'model.onnx'), truncated(classifier.model.bytes, 0.01));
    const report = await new GateEngine(GATE_CHECKS).run(context, {
      stage: 'registered',
      task: 'classification',
      settings: DEFAULT_GATE_SETTINGS,
      checks: ['onnx_parses', 'model_loads', 'smoke_run'].map((id) => ({ id, severity: 'critical' as const, thresholds: {} })),
    });
    expect(report.results.map((r) => r.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(report.verdict).toBe('failed');
    expect(report.healthScore).toBe(0);
  });

  it('ends a run that outlasts its time limit', async () => {
    const context = new GateContext(
      { model: 'm', version: '1', task: 'other', declaredSchema: null, reportedMetrics: {}, files: [{ path: 'model.onnx', sha256: null, size: classifier.model.bytes.length }] },
      workspace,
      [],
      { ...DEFAULT_GATE_SETTINGS, timeoutSeconds: 1 },
    );
    await writeFile(join(workspace, 'model.onnx'), classifier.model.bytes);
    await expect(
      new GateEngine(GATE_CHECKS).run(context, {
        stage: 'registered',
        task: 'other',
        settings: { ...DEFAULT_GATE_SETTINGS, timeoutSeconds: 1 },
        checks: [{ id: 'latency', severity: 'critical', thresholds: { runs: 1_000_000, warmupRuns: 0, batchSize: 1, maxP95Ms: 0, maxMemoryMiB: 0 } }],
      }),
    ).rejects.toThrow('the gate run took longer than its 1 s limit');
  });
});
