import { bufferSource } from './byte-source';
import { readZipDirectory, openZipEntry } from './zip-reader';
import { isKerasArchive, KERAS_ARCHIVE_CONFIG, looksLikeHdf5, scanHdf5, scanKerasArchiveConfig, scanKerasConfig, scanKerasConfigBytes } from './keras-scanner';
import {
  hdf5File,
  hostileKerasLayers,
  keras2Sequential,
  keras2TrainingConfig,
  keras3Functional,
  keras3Sequential,
  kerasArchive,
  kerasHdf5,
  utf8,
} from '../../../test/fixtures/keras-files';

const place = { file: 'model.keras', path: [] };
const rules = (findings: { severity: string; rule: string; location: string }[]) => findings.map((finding) => `${finding.severity} ${finding.rule} @ ${finding.location}`);
const scan = (config: unknown) => rules(scanKerasConfig(config, place, 'config.json'));

describe('scanKerasConfig', () => {
  it.each([
    ['a Keras 3 Functional convnet', keras3Functional()],
    ['a Keras 3 Sequential MLP with a schedule and builtins functions', keras3Sequential()],
    ['a tf.keras 2 Sequential model', keras2Sequential()],
    ['a tf.keras 2 training config', keras2TrainingConfig()],
  ])('finds nothing in %s', (_name, config) => {
    expect(scan(config)).toEqual([]);
  });

  it('flags a Keras 3 Lambda at its layer and at its marshalled bytecode', () => {
    expect(scan(keras3Sequential([hostileKerasLayers.keras3Lambda()]))).toEqual([
      'HIGH keras_lambda @ config.json › $.config.layers[3]',
      'HIGH keras_lambda @ config.json › $.config.layers[3].config.function',
      'HIGH keras_lambda @ config.json › $.config.layers[3].config.function.config.value[0]',
    ]);
  });

  it('flags a tf.keras 2 Lambda and op layer', () => {
    expect(scan(keras2Sequential([hostileKerasLayers.keras2Lambda(), hostileKerasLayers.tfOpLambda()]))).toEqual([
      'HIGH keras_lambda @ config.json › $.config.layers[4]',
      'HIGH keras_lambda @ config.json › $.config.layers[4].config',
      'HIGH keras_lambda @ config.json › $.config.layers[4].config.function[0]',
      'HIGH keras_lambda @ config.json › $.config.layers[5]',
    ]);
  });

  it('finds a Lambda nested three wrappers deep inside a benign model', () => {
    const findings = scanKerasConfig(keras3Functional([hostileKerasLayers.nestedLambda()]), place, 'config.json');
    expect(findings.find((finding) => finding.rule === 'keras_lambda' && finding.name === 'Lambda')?.location).toBe('config.json › $.config.layers[6].config.layer.config.layer');
  });

  it.each([
    ['os', 'system'],
    ['subprocess', 'Popen'],
    ['builtins', 'eval'],
    ['keras_hub.src.utils.preset_utils', 'PresetLoader'],
  ])('flags a class from module %s (CVE-2025-1550)', (module, name) => {
    const [finding] = scanKerasConfig(keras3Sequential([hostileKerasLayers.moduleImport(module, name)]), place, 'config.json');
    expect(finding).toMatchObject({ severity: 'HIGH', rule: 'keras_unsafe_object', module, name, location: 'config.json › $.config.layers[3]' });
    expect(finding.why).toContain('CVE-2025-1550');
  });

  it.each([
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['os', 'system'],
    ['keras.ops', 'convert_to_numpy'],
    ['keras.src.activations.activations', 'get'],
  ])('flags the function %s.%s', (module, name) => {
    expect(
      scan(
        keras3Sequential([{ module: 'keras.layers', class_name: 'Activation', config: { activation: hostileKerasLayers.functionReference(module, name) }, registered_name: null }]),
      ),
    ).toEqual(['HIGH keras_unsafe_object @ config.json › $.config.layers[3].config.activation']);
  });

  it('flags keras.config.enable_unsafe_deserialization (CVE-2025-9906) and keras.utils.get_file as non-modelling APIs', () => {
    const findings = scanKerasConfig(keras3Sequential([hostileKerasLayers.unsafeDeserializationSwitch(), hostileKerasLayers.getFile()]), place, 'config.json');
    expect(findings.map((finding) => [finding.module, finding.name])).toEqual([
      ['keras.config', 'enable_unsafe_deserialization'],
      ['keras.utils', 'get_file'],
    ]);
    for (const finding of findings) expect(finding.why).toContain('non-modelling');
  });

  it('flags Keras-internal modules outside the modelling packages, lowercase class names, custom objects and vocabulary paths', () => {
    expect(scan(keras3Sequential([hostileKerasLayers.keras2GetFile(), hostileKerasLayers.customObject(), hostileKerasLayers.vocabularyPath()]))).toEqual([
      'HIGH keras_unsafe_object @ config.json › $.config.layers[3]',
      'HIGH keras_unsafe_object @ config.json › $.config.layers[4]',
      'HIGH keras_unsafe_object @ config.json › $.config.layers[5]',
    ]);
    expect(scan({ module: 'keras.layers', class_name: 'deserialize', config: {} })).toEqual(['HIGH keras_unsafe_object @ config.json › $']);
    expect(scan({ module: 'keras.layers', class_name: 'Dense', config: {}, registered_name: 'evil>Dense' })).toEqual(['HIGH keras_unsafe_object @ config.json › $']);
    expect(scan({ class_name: 'MyCustomLayer', config: {} })).toEqual(['HIGH keras_unsafe_object @ config.json › $']);
  });

  it('flags the code-loading Keras wrappers', () => {
    for (const name of ['TorchModuleWrapper', 'TFSMLayer', 'JaxLayer', 'FlaxLayer']) {
      expect(scan({ module: 'keras.layers', class_name: name, config: {}, registered_name: null })).toEqual(['HIGH keras_unsafe_object @ config.json › $']);
    }
  });

  it('fails closed on a config it cannot judge', () => {
    expect(scan([1, 2])).toEqual(['HIGH keras_unreadable @ config.json › $']);
    expect(scan({ class_name: 7, config: {} })).toEqual(['HIGH keras_unreadable @ config.json › $']);
    expect(scan({ class_name: 'Dense', module: ['keras'], config: {} })).toEqual(['HIGH keras_unreadable @ config.json › $']);
    expect(scan({ class_name: 'function', module: 'keras.activations', config: { name: 'relu' } })).toEqual(['HIGH keras_unreadable @ config.json › $']);
  });

  it('walks a config nested deeper than the call stack', () => {
    let config: Record<string, unknown> = hostileKerasLayers.keras3Lambda();
    for (let depth = 0; depth < 100_000; depth++) config = { config: config };
    expect(scanKerasConfig(config, place, 'config.json').filter((finding) => finding.rule === 'keras_lambda')).toHaveLength(3);
  });

  it('lists at most 100 findings and counts the rest', () => {
    const findings = scanKerasConfig(keras3Sequential(Array.from({ length: 150 }, () => hostileKerasLayers.moduleImport('os', 'system'))), place, 'config.json');
    expect(findings).toHaveLength(101);
    expect(findings[100]).toMatchObject({ rule: 'keras_findings_truncated', why: expect.stringContaining('50 more') });
  });
});

describe('scanKerasConfigBytes', () => {
  it('reads NaN and Infinity as Python json writes them, and a UTF-8 byte-order mark', () => {
    const text = JSON.stringify(keras3Sequential()).replace('"momentum":0', '"momentum":NaN,"clip":-Infinity');
    expect(rules(scanKerasConfigBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(text)]), place, 'config.json'))).toEqual([]);
  });

  it.each([
    ['malformed JSON', utf8('{"class_name": "Sequential", ')],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['NaN inside a string only', utf8('{"a": "NaN" x}')],
  ])('fails closed on %s', (_name, bytes) => {
    expect(rules(scanKerasConfigBytes(bytes, place, 'config.json'))).toEqual(['HIGH keras_unreadable @ config.json']);
  });

  it('refuses a config over the size limit', () => {
    expect(scanKerasConfigBytes(utf8(keras3Sequential()), place, 'config.json', { maxConfigBytes: 100 })[0].why).toContain('1600 bytes, over the 100');
  });
});

describe('scanKerasArchiveConfig', () => {
  /** The member bytes as the artifact scanner hands them over, read with the project's own zip reader. */
  async function configOf(archive: Buffer): Promise<Buffer> {
    const source = bufferSource(archive);
    const entries = await readZipDirectory(source, { maxEntries: 10 });
    expect(isKerasArchive(entries.map((entry) => entry.name))).toBe(true);
    const member = await openZipEntry(
      source,
      entries.find((entry) => entry.name === KERAS_ARCHIVE_CONFIG)!,
      { maxBytes: 1 << 20 },
    );
    return member.read(0, member.size);
  }
  const archivePlace = { file: 'model.keras', path: ['config.json'] };

  it('passes a benign .keras archive and flags a hostile one', async () => {
    expect(scanKerasArchiveConfig(await configOf(kerasArchive(keras3Functional())), archivePlace)).toEqual([]);
    expect(rules(scanKerasArchiveConfig(await configOf(kerasArchive(keras3Functional([hostileKerasLayers.moduleImport('subprocess', 'Popen')]))), archivePlace))).toEqual([
      'HIGH keras_unsafe_object @ config.json › config.json › $.config.layers[6]',
    ]);
    expect(rules(scanKerasArchiveConfig(await configOf(kerasArchive('{not json')), archivePlace))).toEqual(['HIGH keras_unreadable @ config.json › config.json']);
  });
});

describe('scanHdf5', () => {
  const h5Place = { file: 'model.h5', path: [] };
  const scanH5 = async (bytes: Buffer) => rules(await scanHdf5(bufferSource(bytes), h5Place));

  it('recognises the HDF5 signature', () => {
    expect(looksLikeHdf5(kerasHdf5(keras2Sequential()))).toBe(true);
    expect(looksLikeHdf5(Buffer.from('PK\x03\x04'))).toBe(false);
  });

  it('passes a benign legacy .h5 with both configs, in vlen and fixed-length strings, and plain weights with no config', async () => {
    expect(await scanH5(kerasHdf5(keras2Sequential(), keras2TrainingConfig()))).toEqual([]);
    expect(await scanH5(kerasHdf5(keras2Sequential(), keras2TrainingConfig(), { storage: 'fixed' }))).toEqual([]);
    expect(await scanH5(hdf5File([{ name: 'backend', value: 'tensorflow' }]))).toEqual([]);
  });

  it('flags a Lambda in model_config and a hostile optimizer in training_config, behind a user block too', async () => {
    const hostile = kerasHdf5(keras2Sequential([hostileKerasLayers.keras2Lambda()]), keras2TrainingConfig({ module: 'os', class_name: 'system', config: {} }), { userBlock: 2048 });
    expect(looksLikeHdf5(hostile)).toBe(false);
    expect(await scanH5(hostile)).toEqual([
      'HIGH keras_lambda @ model_config attribute › $.config.layers[4]',
      'HIGH keras_lambda @ model_config attribute › $.config.layers[4].config',
      'HIGH keras_lambda @ model_config attribute › $.config.layers[4].config.function[0]',
      'HIGH keras_unsafe_object @ training_config attribute › $.optimizer_config',
    ]);
  });

  it('fails closed on a model_config that is malformed or named twice', async () => {
    expect(await scanH5(kerasHdf5('{"class_name": "Seq'))).toEqual(['HIGH keras_unreadable @ model_config attribute']);
    const twice = hdf5File([
      { name: 'model_config', value: '{}' },
      { name: 'model_config', value: JSON.stringify(keras2Sequential()) },
    ]);
    expect(await scanH5(twice)).toEqual(['HIGH hdf5_unreadable @ model_config attribute']);
  });

  it('fails closed on a file whose root attributes cannot be read', async () => {
    const file = kerasHdf5(keras2Sequential());
    expect(await scanH5(file.subarray(0, 200))).toEqual(['HIGH hdf5_unreadable @ (whole file)']);
    expect(await scanH5(Buffer.from('not hdf5 at all'))).toEqual(['HIGH hdf5_unreadable @ (whole file)']);
  });
});
