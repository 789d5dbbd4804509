import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';
import { OnnxModel, OnnxSession } from '@gatehouse/onnx';
import { scanOnnxModel } from './onnx-scanner';
import { standardFixtures } from '../../../test/fixtures/onnx-models';
import {
  benignExternalDataModel,
  customOperatorInSubgraphModel,
  customOperatorModel,
  escapingExternalDataModel,
  externalDataPastEndModel,
  externalWeightModel,
  localFunctionModel,
  missingExternalFileModel,
  unknownExternalDataKeyModel,
  type OnnxArtifact,
} from '../../../test/fixtures/hostile-onnx';

const scan = (artifact: OnnxArtifact, allowedDomains: string[] = []) =>
  scanOnnxModel(OnnxModel.parse(artifact.files[artifact.model]), artifact.model, new Map(Object.entries(artifact.files).map(([path, bytes]) => [path, bytes.length])), {
    allowedDomains,
  });
const summary = (artifact: OnnxArtifact, allowedDomains: string[] = []) => scan(artifact, allowedDomains).map(({ severity, rule, location }) => ({ severity, rule, location }));
const WEIGHT = 'main › initializer dense.weight';

describe('scanOnnxModel', () => {
  it.each([
    { name: 'beside the model', artifact: benignExternalDataModel() },
    { name: 'both under models/', artifact: benignExternalDataModel({ directory: 'models' }) },
    {
      name: 'without a length, from an offset inside the file',
      artifact: externalWeightModel([
        ['location', 'weights.bin'],
        ['offset', '60'],
      ]),
    },
    {
      name: 'with a checksum and ./ in the location',
      artifact: externalWeightModel([
        ['location', './weights.bin'],
        ['length', '48'],
        ['checksum', 'abc'],
      ]),
    },
  ])('finds nothing in valid external data $name', ({ artifact }) => {
    expect(scan(artifact)).toEqual([]);
  });

  it('finds nothing in the standard fixtures: no false positives on ordinary models', () => {
    const fixtures = standardFixtures();
    const models = [
      fixtures.classifier,
      fixtures.degradedClassifier,
      fixtures.slightlyWorseClassifier,
      fixtures.regressor,
      fixtures.generative,
      fixtures.explodingGenerative,
      fixtures.sequenceClassifier,
    ];
    for (const { model } of models) expect(scan({ model: 'model.onnx', files: { 'model.onnx': model.bytes } })).toEqual([]);
  });

  it('finds nothing in the benign fixtures, which onnxruntime loads from disk', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'onnx-scanner-'));
    try {
      for (const artifact of [benignExternalDataModel({ directory: 'models' }), localFunctionModel()]) {
        expect(scan(artifact)).toEqual([]);
        const root = await mkdtemp(join(directory, 'version-'));
        for (const [path, bytes] of Object.entries(artifact.files)) {
          await mkdir(dirname(join(root, path)), { recursive: true });
          await writeFile(join(root, path), bytes);
        }
        const session = await OnnxSession.load(join(root, artifact.model));
        await session.release();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it.each([
    { name: 'a relative path climbing out', artifact: escapingExternalDataModel('../../etc/passwd'), severity: 'CRITICAL', rule: 'external_data_path_traversal' },
    { name: 'a POSIX absolute path', artifact: escapingExternalDataModel('/etc/passwd'), severity: 'CRITICAL', rule: 'external_data_path_traversal' },
    { name: 'a Windows drive path', artifact: escapingExternalDataModel('C:\\Windows\\win.ini'), severity: 'CRITICAL', rule: 'external_data_path_traversal' },
    { name: 'a Windows share', artifact: escapingExternalDataModel('\\\\server\\share\\weights.bin'), severity: 'CRITICAL', rule: 'external_data_path_traversal' },
    { name: '`..` inside a segment', artifact: escapingExternalDataModel('weights..bin'), severity: 'CRITICAL', rule: 'external_data_path_traversal' },
    {
      name: 'an absolute basepath',
      artifact: externalWeightModel([
        ['basepath', '/etc'],
        ['location', 'weights.bin'],
      ]),
      severity: 'CRITICAL',
      rule: 'external_data_path_traversal',
    },
    { name: "onnxruntime's in-memory marker", artifact: escapingExternalDataModel('*/_ORT_MEM_ADDR_/*'), severity: 'CRITICAL', rule: 'external_data_memory_address' },
    {
      name: 'no location',
      artifact: externalWeightModel([
        ['offset', '0'],
        ['length', '48'],
      ]),
      severity: 'HIGH',
      rule: 'external_data_no_location',
    },
    { name: 'a file the version lacks', artifact: missingExternalFileModel(), severity: 'HIGH', rule: 'external_data_missing_file' },
    { name: 'an unknown key', artifact: unknownExternalDataKeyModel(), severity: 'HIGH', rule: 'external_data_unknown_key' },
    { name: 'offset + length past the file', artifact: externalDataPastEndModel(), severity: 'HIGH', rule: 'external_data_out_of_bounds' },
    {
      name: 'an offset past the file and no length',
      artifact: externalWeightModel([
        ['location', 'weights.bin'],
        ['offset', '61'],
      ]),
      severity: 'HIGH',
      rule: 'external_data_out_of_bounds',
    },
    {
      name: 'a negative offset',
      artifact: externalWeightModel([
        ['location', 'weights.bin'],
        ['offset', '-4'],
        ['length', '48'],
      ]),
      severity: 'HIGH',
      rule: 'external_data_invalid_range',
    },
    {
      name: 'a length in exponent notation',
      artifact: externalWeightModel([
        ['location', 'weights.bin'],
        ['length', '4.8e1'],
      ]),
      severity: 'HIGH',
      rule: 'external_data_invalid_range',
    },
    {
      name: 'an empty offset',
      artifact: externalWeightModel([
        ['location', 'weights.bin'],
        ['offset', ''],
      ]),
      severity: 'HIGH',
      rule: 'external_data_invalid_range',
    },
  ])('flags external data with $name', ({ artifact, severity, rule }) => {
    expect(summary(artifact)).toEqual([{ severity, rule, location: WEIGHT }]);
  });

  it.each([
    { site: 'constant' as const, location: 'main › node weight_constant › attribute value' },
    { site: 'sparse' as const, location: 'main › sparse initializer dense.weight values' },
  ])('checks external data in a $site too', ({ site, location }) => {
    expect(summary(externalWeightModel([['location', '../secrets.bin']], { site }))).toEqual([{ severity: 'CRITICAL', rule: 'external_data_path_traversal', location }]);
  });

  it('resolves the location against the directory of the .onnx file', () => {
    const { files } = benignExternalDataModel();
    const misplaced = { model: 'models/model.onnx', files: { 'models/model.onnx': files['model.onnx'], 'weights.bin': files['weights.bin'] } };
    expect(scan(misplaced)).toEqual([
      expect.objectContaining({
        rule: 'external_data_missing_file',
        file: 'models/model.onnx',
        location: 'main › initializer dense.bias',
        why: expect.stringContaining('models/weights.bin'),
      }),
      expect.objectContaining({ rule: 'external_data_missing_file', file: 'models/model.onnx', location: WEIGHT }),
    ]);
  });

  it('checks every location of a repeated key, not only the one a loader keeps', () => {
    const artifact = externalWeightModel([
      ['location', '../../etc/shadow'],
      ['location', 'weights.bin'],
      ['length', '48'],
    ]);
    expect(summary(artifact)).toEqual([
      { severity: 'CRITICAL', rule: 'external_data_path_traversal', location: WEIGHT },
      { severity: 'HIGH', rule: 'external_data_duplicate_key', location: WEIGHT },
    ]);
  });

  it.each([
    { name: 'in the main graph', artifact: customOperatorModel(), location: 'main › node backdoor (com.evil:Backdoor)' },
    { name: "in an If node's then_branch", artifact: customOperatorInSubgraphModel(), location: 'main/gate.then_branch › node backdoor (com.evil:Backdoor)' },
    { name: "in a model-local function's body", artifact: localFunctionModel({ backdoor: true }), location: 'function com.acme:Swish › node backdoor (com.evil:Backdoor)' },
  ])('flags a custom-domain operator $name, and allowedDomains suppresses it', ({ artifact, location }) => {
    expect(scan(artifact)).toEqual([{ severity: 'HIGH', rule: 'custom_operator', file: 'model.onnx', location, why: expect.stringContaining('com.evil') }]);
    expect(scan(artifact, ['com.evil'])).toEqual([]);
  });

  it('does not take a call of a model-local function for a custom operator', () => {
    expect(scan(localFunctionModel())).toEqual([]);
  });

  it('notes an imported custom domain no node uses, unless it is allowed', () => {
    const proto = onnx.ModelProto.decode(standardFixtures().regressor.model.bytes);
    proto.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.evil', version: 1 }));
    const artifact = { model: 'model.onnx', files: { 'model.onnx': onnx.ModelProto.encode(proto).finish() } };
    expect(summary(artifact)).toEqual([{ severity: 'LOW', rule: 'unused_custom_domain', location: 'opset_import com.evil' }]);
    expect(scan(artifact, ['com.evil'])).toEqual([]);
  });
});
