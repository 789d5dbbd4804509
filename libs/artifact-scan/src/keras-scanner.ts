/**
 * Judges Keras model configs without deserialising them: a `.keras` zip's
 * `config.json`, and a legacy `.h5`'s `model_config` and `training_config`
 * root attributes. Loading a Keras model turns every `{class_name, module,
 * registered_name, config}` object in that JSON into a Python object, and
 * older loaders (Keras 3.0 to 3.8) import whatever `module` names
 * (CVE-2025-1550), while a config can switch `safe_mode` off by referencing
 * `keras.config.enable_unsafe_deserialization` (CVE-2025-9906) or reach
 * helpers such as `keras.utils.get_file`. So `safe_mode` is not relied on:
 * every object reference in the whole tree must name one of Keras' own
 * modelling classes or functions, and anything else, or anything this scan
 * cannot read, is HIGH.
 */
import type { ByteSource } from './byte-source';
import type { SecurityFinding } from './finding';
import { Hdf5FormatError, HDF5_SIGNATURE, readRootAttributes } from './hdf5-reader';
import { locate, type ScanPlace } from './pickle-scanner';

export interface KerasScanOptions {
  /** Bytes of one config read at most; a longer one is refused rather than partly trusted. */
  maxConfigBytes?: number;
}

/** The member of a `.keras` zip that Keras deserialises (saving_lib `_CONFIG_FILENAME`); metadata.json is only read for its version. */
export const KERAS_ARCHIVE_CONFIG = 'config.json';
/** Root attributes of a legacy `.h5` that `load_model_from_hdf5` deserialises. */
const HDF5_KERAS_ATTRIBUTES = ['model_config', 'training_config'];

export const KERAS_MAX_CONFIG_BYTES = 64 * 1024 * 1024;
/** A hostile config can repeat a rule a million times; past this many findings per config the rest are counted. */
const MAX_FINDINGS = 100;

/**
 * Exported Keras 3 modelling classes (keras_export names under keras,
 * keras.layers, .models, .initializers, .regularizers, .constraints, .losses,
 * .metrics, .optimizers(.schedules, .legacy), .mixed_precision,
 * .dtype_policies, .quantizers, .random), taken from keras-team/keras, and
 * the Keras 2 names Keras 3 dropped. A reference without a module resolves
 * by name alone, so only these are Keras' own; anything else needs code
 * from outside the file. The layers that run code are judged before this list.
 */
const KERAS_CLASSES = new Set(
  `AUC AWQConfig AWQDTypePolicy AbsMaxQuantizer Accuracy Activation ActivityRegularization Adadelta Adafactor Adagrad Adam AdamW Adamax
  AdaptiveAveragePooling1D AdaptiveAveragePooling2D AdaptiveAveragePooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D AdaptiveMaxPooling3D Add
  AdditiveAttention AlphaDropout Attention AugMix AutoContrast Average AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D
  BatchNormalization Bidirectional BinaryAccuracy BinaryCrossentropy BinaryFocalCrossentropy BinaryIoU CTC CategoricalAccuracy CategoricalCrossentropy
  CategoricalFocalCrossentropy CategoricalGeneralizedCrossEntropy CategoricalHinge CategoryEncoding CenterCrop Circle Concatenate ConcordanceCorrelation
  Constant Constraint ContrastLimitedAdaptiveHistogramEqualization Conv1D Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose ConvLSTM1D
  ConvLSTM2D ConvLSTM3D Convolution1D Convolution1DTranspose Convolution2D Convolution2DTranspose Convolution3D Convolution3DTranspose CosineDecay
  CosineDecayRestarts CosineSimilarity Cropping1D Cropping2D Cropping3D CutMix DTypePolicy DTypePolicyMap Dense DepthwiseConv1D DepthwiseConv2D Dice
  Discretization Dot Dropout ELU EinsumDense Embedding Equalization ExponentialDecay F1Score FBetaScore FalseNegatives FalsePositives Flatten
  Float8QuantizationConfig FloatDTypePolicy Ftrl Function GPTQConfig GPTQDTypePolicy GRU GRUCell GaussianDropout GaussianNoise GlobalAveragePooling1D
  GlobalAveragePooling2D GlobalAveragePooling3D GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D
  GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlorotNormal GlorotUniform GroupNormalization GroupQueryAttention HashedCrossing Hashing
  HeNormal HeUniform Hinge Huber Identity IdentityInitializer Initializer InputLayer InputSpec Int4DTypePolicy Int4QuantizationConfig
  Int8QuantizationConfig IntegerLookup InverseTimeDecay IoU KLDivergence KerasTensor L1 L1L2 L2 LSTM LSTMCell Lamb Layer LayerNormalization LeakyReLU
  LearningRateSchedule LecunNormal LecunUniform Lion LogCosh LogCoshError Loss LossScaleOptimizer Masking MaxNorm MaxNumBoundingBoxes MaxPool1D
  MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D MaxPooling3D Maximum Mean MeanAbsoluteError MeanAbsolutePercentageError MeanIoU MeanMetricWrapper
  MeanSquaredError MeanSquaredLogarithmicError MelSpectrogram Metric MinMaxNorm Minimum MixUp Model MultiHeadAttention MultiOptimizer Multiply Muon
  Nadam NonNeg Normalization OneHotIoU OneHotMeanIoU Ones Operation Optimizer OptimizerMap Orthogonal OrthogonalInitializer OrthogonalRegularizer PReLU
  PearsonCorrelation Permute PiecewiseConstantDecay Pipeline Poisson Policy PolynomialDecay Precision PrecisionAtRecall QuantizationConfig
  QuantizationReport QuantizedDTypePolicy QuantizedFloat8DTypePolicy Quantizer R2Score RMSNormalization RMSprop RNN RandAugment RandomBrightness
  RandomColorDegeneration RandomColorJitter RandomContrast RandomCrop RandomElasticTransform RandomErasing RandomFlip RandomGaussianBlur RandomGrayscale
  RandomHue RandomInvert RandomNormal RandomPerspective RandomPosterization RandomRotation RandomSaturation RandomSharpness RandomShear
  RandomTranslation RandomUniform RandomZoom ReLU Recall RecallAtPrecision Regularizer RematScope RepeatVector Rescaling Reshape Resizing
  ReversibleEmbedding RootMeanSquaredError SGD STFT STFTInitializer STFTSpectrogram ScheduleFreeAdamW SeedGenerator SensitivityAtSpecificity
  SeparableConv1D SeparableConv2D SeparableConvolution1D SeparableConvolution2D Sequential SimpleRNN SimpleRNNCell Softmax Solarization
  SparseCategoricalAccuracy SparseCategoricalCrossentropy SparseTopKCategoricalAccuracy SpatialDropout1D SpatialDropout2D SpatialDropout3D
  SpecificityAtSensitivity SpectralNormalization SquaredHinge StackedRNNCells StatelessScope StringLookup Subtract Sum SymbolicScope TernaryDTypePolicy
  TernaryDense TernaryQuantizationConfig TextVectorization TimeDistributed TopKCategoricalAccuracy TrueNegatives TruePositives TruncatedNormal Tversky
  UnitNorm UnitNormalization UpSampling1D UpSampling2D UpSampling3D Variable VarianceScaling Wrapper ZeroPadding1D ZeroPadding2D ZeroPadding3D Zeros
  Functional ThresholdedReLU LocallyConnected1D LocallyConnected2D DenseFeatures CuDNNGRU CuDNNLSTM SyncBatchNormalization RandomFourierFeatures`.split(/\s+/),
);

/**
 * Exported Keras functions a model may reference (keras.activations,
 * .losses, .metrics, without get/serialize/deserialize, which deserialise
 * configs themselves), plus Keras 2's aliases. None is also a Python
 * builtin, which matters: for `module: "builtins"` Keras 3.0 to 3.8 fall back
 * to `builtins.<name>`, so `eval` there is `eval`.
 */
const KERAS_FUNCTIONS = new Set(
  `binary_accuracy binary_crossentropy binary_focal_crossentropy categorical_accuracy categorical_crossentropy categorical_focal_crossentropy
  categorical_generalized_cross_entropy categorical_hinge celu circle concordance_correlation cosine_similarity ctc dice elu exponential gelu glu
  hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh hinge huber kl_divergence leaky_relu linear log_cosh log_sigmoid log_softmax
  mean_absolute_error mean_absolute_percentage_error mean_squared_error mean_squared_logarithmic_error mish pearson_correlation poisson relu relu6 selu
  sigmoid silu soft_shrink softmax softplus softsign sparse_categorical_accuracy sparse_categorical_crossentropy sparse_plus sparse_sigmoid
  sparse_top_k_categorical_accuracy sparsemax squared_hinge squareplus swish tanh tanh_shrink threshold top_k_categorical_accuracy tversky
  mse mae mape msle kld kullback_leibler_divergence logcosh cosine_proximity`.split(/\s+/),
);

/** Layers whose config carries code: marshalled Python bytecode, or the name of a TensorFlow op to call (tf.keras' op layers). */
const CODE_LAYERS = new Set(['Lambda', 'TFOpLambda', 'SlicingOpLambda', 'TensorFlowOpLayer']);

/** Keras classes that load other code when built from their config. */
const CODE_LOADING_CLASSES = new Map([
  ['TorchModuleWrapper', 'it unpickles a torch module stored in its config (torch.load)'],
  ['TFSMLayer', 'it loads a TensorFlow SavedModel from a path in its config, with whatever ops that graph holds'],
  ['JaxLayer', 'it wraps JAX functions named in its config'],
  ['FlaxLayer', 'it wraps a Flax module named in its config'],
]);

/** Lookup layers read a vocabulary file from a path or URL in their config (CVE-2025-12058). */
const VOCABULARY_LAYERS = new Set(['StringLookup', 'IntegerLookup', 'TextVectorization']);

/** Keras' own deny list (serialization_lib NON_MODELING_APIS): public names that are no part of a model. */
const NON_MODELING_APIS = new Set([
  'keras.backend.clear_session',
  'keras.config.enable_unsafe_deserialization',
  'keras.models.load_model',
  'keras.models.model_from_json',
  'keras.models.save_model',
  'keras.preprocessing.image_dataset_from_directory',
  'keras.preprocessing.image.load_img',
  'keras.preprocessing.image.save_img',
  'keras.preprocessing.text_dataset_from_directory',
  'keras.saving.deserialize_keras_object',
  'keras.saving.load_model',
  'keras.saving.load_weights',
  'keras.saving.register_keras_serializable',
  'keras.saving.save_model',
  'keras.saving.save_weights',
  'keras.saving.serialize_keras_object',
  'keras.utils.audio_dataset_from_directory',
  'keras.utils.clear_session',
  'keras.utils.deserialize_keras_object',
  'keras.utils.get_file',
  'keras.utils.image_dataset_from_directory',
  'keras.utils.load_img',
  'keras.utils.register_keras_serializable',
  'keras.utils.save_img',
  'keras.utils.serialize_keras_object',
  'keras.utils.text_dataset_from_directory',
]);

/**
 * The allow rule for `module`. Keras writes exported classes under their
 * public path (`keras.layers`, `keras.optimizers`, `keras` for Sequential
 * and DTypePolicy) and the rest under their source module
 * (`keras.src.models.functional`, `keras.src.ops.numpy`; tf.keras 2.13+
 * wrote `keras.src.engine.functional`). A module is allowed only if it is one
 * of the public modelling namespaces, or a source module inside a modelling
 * package. That keeps out every other package (os, subprocess, builtins for
 * classes, keras_hub, tf_keras) and Keras' own non-modelling namespaces
 * (keras.utils, keras.config, keras.saving, keras.backend, keras.datasets,
 * keras.applications, keras.callbacks, keras.src.utils …), where
 * get_file, load_model and enable_unsafe_deserialization live.
 */
const MODELING_MODULES = new Set([
  'keras',
  'keras.layers',
  'keras.models',
  'keras.activations',
  'keras.initializers',
  'keras.regularizers',
  'keras.constraints',
  'keras.losses',
  'keras.metrics',
  'keras.optimizers',
  'keras.optimizers.schedules',
  'keras.optimizers.legacy',
  'keras.mixed_precision',
  'keras.dtype_policies',
  'keras.quantizers',
  'keras.random',
]);
const MODELING_SOURCE_MODULE =
  /^keras\.(src\.)?(models|layers|activations|initializers|regularizers|constraints|losses|metrics|optimizers|dtype_policies|quantizers|random|ops|trainers|engine)(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Functions are allowed only where Keras keeps activations, losses and metrics; `builtins` is how Keras writes a built-in function's bare name. */
const FUNCTION_MODULE = /^(builtins|keras\.(activations|losses|metrics)|keras\.src\.(activations|losses|metrics)(\.[A-Za-z_][A-Za-z0-9_]*)*)$/;
const CLASS_NAME = /^[A-Z][A-Za-z0-9_]*$/;

/**
 * `class_name` values that are data, not classes: tensors, arrays, bytes,
 * slices (serialization_lib) and tuples, shapes and type specs (the legacy
 * json_utils decoder, which looks specs up in TensorFlow's registry).
 */
const DATA_MARKERS = new Set(['__keras_tensor__', '__tensor__', '__numpy__', '__bytes__', '__ellipsis__', '__slice__', '__tuple__', 'TensorShape', 'TypeSpec', 'CompositeTensor']);

/**
 * Scans one Keras config, already parsed, and returns a finding for each
 * object reference that is not Keras' own, each layer that carries code, and
 * each part it cannot read. `configName` says which config this is
 * (`config.json`, `model_config attribute`) and starts every location.
 */
export function scanKerasConfig(config: unknown, place: ScanPlace, configName: string): SecurityFinding[] {
  const findings: SecurityFinding[] = [];
  let unlisted = 0;
  const flag = (path: string, rule: string, why: string, reference?: { module?: string; name?: string }) => {
    if (findings.length >= MAX_FINDINGS) {
      unlisted++;
      return;
    }
    findings.push({ severity: 'HIGH', rule, file: place.file, location: locate(place, configName, path), ...reference, why });
  };
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    flag('$', 'keras_unreadable', 'the config is not a JSON object, so it is not a Keras model config this scan can judge');
    return findings;
  }
  // Iterative, so a config nested deeper than the call stack is still walked.
  const stack: { value: unknown; path: string }[] = [{ value: config, path: '$' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (isMarshalledCode(value))
        flag(path, 'keras_lambda', 'the string is base64-encoded marshalled Python bytecode, which Keras turns back into a function (func_load) and runs');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const children = Array.isArray(value)
      ? (value as unknown[]).map((item, index) => ({ value: item, path: `${path}[${index}]` }))
      : Object.entries(value as Record<string, unknown>).map(([key, item]) => ({ value: item, path: childPath(path, key) }));
    if (!Array.isArray(value)) judgeObject(value as Record<string, unknown>, path, flag);
    for (let index = children.length - 1; index >= 0; index--) stack.push(children[index]);
  }
  if (unlisted > 0)
    findings.push({
      severity: 'HIGH',
      rule: 'keras_findings_truncated',
      file: place.file,
      location: locate(place, configName, '$'),
      why: `${unlisted} more findings after the first ${MAX_FINDINGS} are not listed`,
    });
  return findings;
}

/**
 * Scans the bytes of a config as Keras reads them: UTF-8 JSON (Python's
 * json also takes NaN and Infinity, which Keras writes for such floats).
 * JSON that does not parse, or a config over the size limit, is HIGH.
 */
export function scanKerasConfigBytes(bytes: Uint8Array, place: ScanPlace, configName: string, options: KerasScanOptions = {}): SecurityFinding[] {
  const unreadable = (why: string): SecurityFinding[] => [{ severity: 'HIGH', rule: 'keras_unreadable', file: place.file, location: locate(place, configName), why }];
  const maxBytes = options.maxConfigBytes ?? KERAS_MAX_CONFIG_BYTES;
  if (bytes.length > maxBytes) return unreadable(`the config is ${bytes.length} bytes, over the ${maxBytes} the scan reads, so it is not known to be safe`);
  let text: string;
  try {
    // Python's json.loads takes a UTF-8 byte-order mark on bytes; TextDecoder drops it too.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return unreadable('the config is not UTF-8, so this scan cannot read what Keras would load');
  }
  let config: unknown;
  try {
    config = parsePythonJson(text);
  } catch (error) {
    return unreadable(`the config is not valid JSON (${(error as Error).message}), so it cannot be judged`);
  }
  return scanKerasConfig(config, place, configName);
}

/** A `.keras` archive's `config.json`, given as the member's bytes; the caller reads the zip. */
export function scanKerasArchiveConfig(bytes: Uint8Array, place: ScanPlace, options: KerasScanOptions = {}): SecurityFinding[] {
  return scanKerasConfigBytes(bytes, place, KERAS_ARCHIVE_CONFIG, options);
}

/** True when the entry names are a Keras 3 `.keras` archive: `config.json` at its root. */
export function isKerasArchive(entryNames: readonly string[]): boolean {
  return entryNames.includes(KERAS_ARCHIVE_CONFIG);
}

/** True when the bytes start with the HDF5 signature; files with a user block start elsewhere, so `scanHdf5` searches on its own. */
export function looksLikeHdf5(magic: Uint8Array): boolean {
  return magic.length >= HDF5_SIGNATURE.length && HDF5_SIGNATURE.equals(magic.subarray(0, HDF5_SIGNATURE.length));
}

/**
 * Scans a legacy Keras HDF5 file (`model.save('x.h5')`): the root group's
 * `model_config` and `training_config` attributes, the configs
 * `load_model` deserialises. A file without them is weights only and yields
 * nothing. One whose root attributes cannot be read exactly fails closed.
 */
export async function scanHdf5(source: ByteSource, place: ScanPlace, options: KerasScanOptions = {}): Promise<SecurityFinding[]> {
  const maxBytes = options.maxConfigBytes ?? KERAS_MAX_CONFIG_BYTES;
  const unreadable = (rule: string, where: string[], why: string): SecurityFinding[] => [{ severity: 'HIGH', rule, file: place.file, location: locate(place, ...where), why }];
  try {
    const attributes = await readRootAttributes(source);
    const findings: SecurityFinding[] = [];
    for (const name of HDF5_KERAS_ATTRIBUTES) {
      const matching = attributes.filter((attribute) => attribute.name === name);
      if (matching.length === 0) continue;
      const configName = `${name} attribute`;
      if (matching.length > 1) {
        findings.push(...unreadable('hdf5_unreadable', [configName], `the root group has ${matching.length} attributes named ${name}; readers may take different ones`));
        continue;
      }
      const value = await matching[0].read(maxBytes);
      if (value.kind === 'other') {
        findings.push(...unreadable('keras_unreadable', [configName], `it is ${value.description}, not the JSON string Keras writes, so it cannot be judged`));
        continue;
      }
      // h5py hands fixed-length strings back without their trailing NUL padding.
      let end = value.bytes.length;
      while (end > 0 && value.bytes[end - 1] === 0) end--;
      findings.push(...scanKerasConfigBytes(value.bytes.subarray(0, end), place, configName, options));
    }
    return findings;
  } catch (error) {
    if (!(error instanceof Hdf5FormatError)) throw error;
    return unreadable('hdf5_unreadable', [], `its root attributes cannot be read exactly (${error.message}), so a Keras config there is not known to be safe`);
  }
}

type Flag = (path: string, rule: string, why: string, reference?: { module?: string; name?: string }) => void;

/** Judges one JSON object: a Keras object reference when it has `class_name`, and any Keras 2 lambda config. */
function judgeObject(object: Record<string, unknown>, path: string, flag: Flag): void {
  if (object.function_type === 'lambda') flag(path, 'keras_lambda', 'it is a Keras 2 lambda: its `function` is marshalled Python bytecode that loading runs');
  if (!('class_name' in object)) return;
  const className = object.class_name;
  const { module, registered_name: registered } = object;
  if (typeof className !== 'string' || !optionalString(module) || !optionalString(registered)) {
    flag(path, 'keras_unreadable', 'its class_name, module or registered_name is not a string, so the object it names cannot be judged');
    return;
  }
  if (DATA_MARKERS.has(className)) return;
  if (className === '__lambda__') {
    flag(path, 'keras_lambda', 'it is a serialised Python lambda (marshalled bytecode); a config can turn safe_mode off before Keras reaches it (CVE-2025-9906)');
    return;
  }
  if (className === 'function') {
    judgeFunction(object.config, module ?? undefined, registered ?? undefined, path, flag);
    return;
  }
  const name = className === '__typespec__' ? object.spec_name : className;
  if (typeof name !== 'string') {
    flag(path, 'keras_unreadable', 'its spec_name is not a string, so the type spec it names cannot be judged');
    return;
  }
  judgeClass(name, module ?? undefined, registered ?? undefined, path, flag);
  if (VOCABULARY_LAYERS.has(name) && isRecord(object.config) && typeof object.config.vocabulary === 'string') {
    flag(
      path,
      'keras_unsafe_object',
      `its vocabulary is the path ${JSON.stringify(object.config.vocabulary)}, which Keras reads (a local file or a URL) when it builds the layer`,
      { module: module ?? undefined, name },
    );
  }
}

function judgeClass(name: string, module: string | undefined, registered: string | undefined, path: string, flag: Flag): void {
  const reference = { module, name };
  const bare = name.slice(name.lastIndexOf('>') + 1);
  if (CODE_LAYERS.has(bare)) {
    flag(path, 'keras_lambda', `it is a ${bare} layer, which runs code from the config (marshalled bytecode or a named op) whatever the module says`, reference);
    return;
  }
  const loads = CODE_LOADING_CLASSES.get(bare);
  if (loads) {
    flag(path, 'keras_unsafe_object', `it is a ${bare}: ${loads}`, reference);
    return;
  }
  if (module !== undefined) {
    const unsafe = unsafeModuleReference(module, name, MODELING_MODULES.has(module) || MODELING_SOURCE_MODULE.test(module));
    if (unsafe) flag(path, 'keras_unsafe_object', unsafe, reference);
    else if (!CLASS_NAME.test(name))
      flag(path, 'keras_unsafe_object', `${module}.${name} is not a class name; Keras returns a function found this way as it is, to be called later`, reference);
    else if (registered !== undefined && registered !== name)
      flag(path, 'keras_unsafe_object', `its registered_name ${registered} names a custom object, code from outside the file`, reference);
    return;
  }
  if (registered !== undefined && registered !== name) {
    flag(path, 'keras_unsafe_object', `its registered_name ${registered} names a custom object, code from outside the file`, reference);
    return;
  }
  // tf.keras registers its own optimizers under the package "Custom" (`Custom>Adam`).
  if (!KERAS_CLASSES.has(name) && !(name.startsWith('Custom>') && KERAS_CLASSES.has(bare))) {
    flag(path, 'keras_unsafe_object', `${name} is not one of Keras' own classes: loading it needs custom code from outside the file`, reference);
  }
}

function judgeFunction(config: unknown, module: string | undefined, registered: string | undefined, path: string, flag: Flag): void {
  if (typeof config !== 'string') {
    flag(path, 'keras_unreadable', 'it is a function reference whose config is not a function name, so it cannot be judged');
    return;
  }
  const reference = { module, name: config };
  if (module !== undefined) {
    const unsafe = unsafeModuleReference(module, config, FUNCTION_MODULE.test(module));
    if (unsafe) {
      flag(path, 'keras_unsafe_object', unsafe, reference);
      return;
    }
  }
  if (!KERAS_FUNCTIONS.has(config)) {
    flag(path, 'keras_unsafe_object', `${module ? `${module}.` : ''}${config} is not one of Keras' activation, loss or metric functions`, reference);
  } else if (registered !== undefined && registered !== config && registered !== 'function') {
    flag(path, 'keras_unsafe_object', `its registered_name ${registered} names a custom function, code from outside the file`, reference);
  }
}

/** Why `module`.`name` is unsafe, or undefined when the module passes the allow rule. */
function unsafeModuleReference(module: string, name: string, allowed: boolean): string | undefined {
  if (NON_MODELING_APIS.has(`${module}.${name}`)) {
    return `${module}.${name} is one of Keras' non-modelling APIs; a config reaching it can switch safe_mode off, load other files or fetch URLs (CVE-2025-9906)`;
  }
  if (allowed) return undefined;
  if (module === 'keras' || module.startsWith('keras.')) {
    return `${module} is outside Keras' modelling namespaces; what it holds (file, download and saving helpers) has no place in a model config`;
  }
  return `it names the module ${module}, which Keras 3.0 to 3.8 import to load the object (CVE-2025-1550): code from outside Keras runs on load`;
}

/**
 * Keras' func_dump: base64 of marshal.dumps(code), a TYPE_CODE byte ('c',
 * with or without the FLAG_REF bit) followed by small int32 counts.
 */
function isMarshalledCode(text: string): boolean {
  if (text.length < 40 || !/^[A-Za-z0-9+/=\s]+$/.test(text)) return false;
  const head = Buffer.from(text.slice(0, 64).replace(/\s/g, ''), 'base64');
  if (head.length < 13 || (head[0] & 0x7f) !== 0x63) return false;
  return [1, 5, 9].every((offset) => head.readUInt32LE(offset) < 256);
}

/**
 * JSON as Python's json module reads it: also NaN, Infinity and -Infinity,
 * which json.dumps writes for such floats. They become null here: the scan
 * judges references, not numbers.
 */
function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const replaced = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (token) => (token.startsWith('"') ? token : 'null'));
    if (replaced === text) throw error;
    return JSON.parse(replaced);
  }
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

const optionalString = (value: unknown): value is string | null | undefined => value === undefined || value === null || typeof value === 'string';
const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
