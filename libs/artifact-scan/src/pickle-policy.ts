import type { FindingSeverity } from './finding';
import type { PickleGlobal } from './pickle-reader';
import { PYTHON2_MODULES, PYTHON2_NAMES } from './python2-names';

const TORCH_DTYPES = [
  ...['float64', 'float32', 'float16', 'bfloat16', 'complex128', 'complex64', 'complex32', 'bool'],
  ...['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64'],
  ...[1, 2, 3, 4, 5, 6, 7].flatMap((bits) => [`int${bits}`, `uint${bits}`]),
  ...['qint8', 'quint8', 'qint32', 'quint4x2', 'quint2x4'],
  ...['float8_e5m2', 'float8_e4m3fn', 'float8_e5m2fnuz', 'float8_e4m3fnuz', 'float8_e8m0fnu', 'float4_e2m1fn_x2'],
  ...['bits8', 'bits16', 'bits1x8', 'bits2x4', 'bits4x2'],
];
const TORCH_ELEMENT_KINDS = ['Double', 'Float', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool'];
const TORCH_STORAGES = [...TORCH_ELEMENT_KINDS, 'ComplexDouble', 'ComplexFloat', 'QUInt8', 'QInt8', 'QInt32', 'QUInt4x2', 'QUInt2x4'].map((kind) => `${kind}Storage`);
const TORCH_TENSORS = TORCH_ELEMENT_KINDS.map((kind) => `${kind}Tensor`);

/**
 * The only globals a pickle may import: what `torch.load(weights_only=True)`
 * accepts (torch/_weights_only_unpickler.py, `_get_allowed_globals`), plus
 * the reconstruction of numpy arrays, dtypes and scalars. Each rebuilds data;
 * none can reach arbitrary code. Anything else fails the scan unless the
 * policy names it.
 */
const WEIGHTS_ONLY_GLOBALS = new Map<string, ReadonlySet<string>>(
  Object.entries({
    collections: ['OrderedDict', 'Counter'],
    builtins: ['bytearray', 'set', 'complex'],
    _codecs: ['encode'],
    torch: [
      'Size',
      'Tensor',
      'device',
      ...TORCH_DTYPES,
      ...TORCH_STORAGES,
      ...TORCH_TENSORS,
      'per_tensor_affine',
      'per_tensor_symmetric',
      'per_channel_affine',
      'per_channel_symmetric',
      'per_channel_affine_float_qparams',
    ],
    'torch.cuda': [...TORCH_STORAGES, ...TORCH_TENSORS],
    'torch.sparse': TORCH_TENSORS,
    'torch.cuda.sparse': TORCH_TENSORS,
    'torch.storage': ['TypedStorage', 'UntypedStorage'],
    'torch.nn.parameter': ['Parameter'],
    'torch.serialization': ['_get_layout'],
    'torch._tensor': ['_rebuild_from_type_v2'],
    'torch._utils': [
      '_rebuild_parameter',
      '_rebuild_parameter_with_state',
      '_rebuild_qtensor',
      '_rebuild_tensor',
      '_rebuild_tensor_v2',
      '_rebuild_tensor_v3',
      '_rebuild_sparse_tensor',
      '_rebuild_meta_tensor_no_storage',
      '_rebuild_wrapper_subclass',
      '_rebuild_device_tensor_from_numpy',
      '_rebuild_device_tensor_from_cpu_tensor',
    ],
    numpy: ['ndarray', 'dtype'],
    'numpy.core.multiarray': ['_reconstruct', 'scalar'],
    'numpy._core.multiarray': ['_reconstruct', 'scalar'],
  }).map(([module, names]) => [module, new Set(names)]),
);

/**
 * Globals known to run code, touch the file system or the network, load
 * other pickles, or reach something that does: the union of picklescan's
 * `_unsafe_globals` and fickling's `UNSAFE_IMPORTS` and `UnsafeImportsML`,
 * and more found by attacking the registry. `*` marks a whole module and its
 * submodules. Being listed here decides a finding's severity and message; not
 * being listed decides nothing, since anything off the allow-list fails.
 */
const DANGEROUS_GLOBALS = new Map<string, '*' | 'methods' | ReadonlySet<string>>([
  ...Object.entries({
    builtins: [
      'eval',
      'exec',
      'compile',
      'open',
      'getattr',
      'setattr',
      'delattr',
      'hasattr',
      'apply',
      '__import__',
      'breakpoint',
      'input',
      'globals',
      'locals',
      'vars',
      'memoryview',
      'help',
      'exit',
      'quit',
    ],
    io: ['FileIO', 'open', 'open_code', 'TextIOWrapper', 'BufferedReader', 'BufferedWriter'],
    _io: ['FileIO', 'open', 'open_code', 'TextIOWrapper', 'BufferedReader', 'BufferedWriter'],
    torch: ['load', 'compile', 'save', 'from_file'],
    'torch.serialization': ['load', 'save'],
    'torch.storage': ['_load_from_bytes'],
    'torch._dynamo.guards': ['GuardBuilder'],
    'torch.fx.experimental.symbolic_shapes': ['ShapeEnv'],
    'torch.utils.collect_env': ['run'],
    'torch.distributed.elastic.rendezvous.api': ['basichandlers'],
    numpy: ['load', 'loadtxt', 'fromfile', 'save', 'savez', 'memmap', 'genfromtxt', 'fromregex'],
    'numpy.ctypeslib': ['load_library'],
    pandas: ['read_pickle', 'eval'],
  }).map(([module, names]) => [module, new Set(names)] as const),
  // Its path classes are data, their methods read, write and delete files (`PosixPath.write_text`).
  ['pathlib', 'methods'],
  ...[
    // Python 2's builtins, where a pickle of protocol 3 or later names them unmapped.
    '__builtin__',
    '__builtins__',
    // Code execution, compilation and import machinery.
    'code',
    'codeop',
    'runpy',
    'marshal',
    'types',
    'doctest',
    'importlib',
    '_frozen_importlib',
    '_frozen_importlib_external',
    '_imp',
    'imp',
    'pkgutil',
    'zipimport',
    'gc',
    'site',
    'unittest',
    'inspect',
    'test',
    'operator',
    '_operator',
    'functools',
    'cProfile',
    'profile',
    'pdb',
    'bdb',
    'timeit',
    'trace',
    'pydoc',
    'idlelib',
    'lib2to3',
    'compileall',
    'py_compile',
    '_interpreters',
    '_xxsubinterpreters',
    'antigravity',
    'this',
    '__hello__',
    '__phello__',
    'turtledemo',
    'ensurepip',
    'venv',
    'pip',
    'distutils',
    'setuptools',
    'sysconfig',
    // Processes, threads and signals.
    'os',
    'posix',
    'nt',
    'subprocess',
    '_posixsubprocess',
    'sys',
    'pty',
    'commands',
    'popen2',
    'multiprocessing',
    'signal',
    '_signal',
    'threading',
    '_thread',
    'atexit',
    'asyncio',
    'concurrent',
    'pexpect',
    'pipes',
    'platform',
    '_osx_support',
    '_aix_support',
    '_pyrepl',
    'uuid',
    // Files and memory.
    'shutil',
    'tempfile',
    'filecmp',
    'fileinput',
    'glob',
    'linecache',
    'difflib',
    'mmap',
    'shelve',
    'dbm',
    'sqlite3',
    '_sqlite3',
    'tarfile',
    'zipfile',
    'logging',
    'syslog',
    'ctypes',
    '_ctypes',
    'cffi',
    // Networks.
    'socket',
    '_socket',
    'ssl',
    '_ssl',
    'select',
    'selectors',
    'http',
    'httplib',
    'urllib',
    'urllib2',
    'urllib3',
    'requests',
    'aiohttp',
    'webbrowser',
    'smtplib',
    'imaplib',
    'poplib',
    'ftplib',
    'telnetlib',
    'nntplib',
    'socketserver',
    'xmlrpc',
    // Loaders of other pickles and of code.
    'pickle',
    '_pickle',
    'cPickle',
    'dill',
    'cloudpickle',
    'joblib',
    'sklearn.externals.joblib',
    'torch.hub',
    'torch._dynamo',
    'torch._inductor',
    'torch.jit',
    'torch.package',
    'torch.utils._config_module',
    'torch.utils.bottleneck',
    'torch.utils.data.datapipes.utils.decoder',
    'torch.utils.cpp_extension',
    'numpy.f2py',
    'numpy.distutils',
    'numpy.testing',
    'numpy.lib.npyio',
    'numpy.lib._npyio_impl',
    'numpy.lib.format',
    'pandas.io',
    'keras',
    'tensorflow',
  ].map((module) => [module, '*'] as const),
]);

/** Whole-module entries of {@link DANGEROUS_GLOBALS} by their last component, for fickling's rule that any component of a dotted path is reachable. */
const DANGEROUS_COMPONENTS = new Set([...DANGEROUS_GLOBALS].filter(([module, rule]) => rule === '*' && !module.includes('.')).map(([module]) => module));

/** Globals after which the unpickler reads raw bytes that are not pickle opcodes, so no opcode reader can follow the stream. */
const RAW_DATA_GLOBALS = new Map<string, ReadonlySet<string>>([
  ['joblib.numpy_pickle', new Set(['NumpyArrayWrapper', 'NDArrayWrapper', 'ZNDArrayWrapper'])],
  ['joblib.numpy_pickle_compat', new Set(['NDArrayWrapper', 'ZNDArrayWrapper'])],
  ['sklearn.externals.joblib.numpy_pickle', new Set(['NumpyArrayWrapper', 'NDArrayWrapper', 'ZNDArrayWrapper'])],
]);

/** Stdlib modules that act when merely imported (a `__main__` module runs its program): importing one is the harm, called or not. */
const RUNS_ON_IMPORT = new Set(['antigravity', 'this', '__hello__', '__phello__', 'idlelib.idle', 'turtledemo']);

/** True when importing the global's module alone runs something, so the import matters even in bytes that are no pickle. */
export function runsOnImport(global: Pick<PickleGlobal, 'module' | 'name' | 'protocol'>): boolean {
  const { module } = importedGlobal(global);
  const parts = module.split('.');
  return parts[parts.length - 1] === '__main__' || parts.some((_, index) => RUNS_ON_IMPORT.has(parts.slice(0, index + 1).join('.')));
}

export type GlobalVerdict = { verdict: 'allowed' } | { verdict: 'flagged'; severity: FindingSeverity; rule: string; why: string };

/**
 * The module and name CPython's `find_class` imports: below protocol 3 it
 * first maps Python 2 names (`__builtin__` to `builtins`, `cStringIO` to
 * `io`, `copy_reg` to `copyreg`, …), and the mapped name is what runs.
 */
export function importedGlobal(global: Pick<PickleGlobal, 'module' | 'name' | 'protocol'>): { module: string; name: string } {
  const { module, name } = global;
  if (global.protocol >= 3) return { module, name };
  const renamed = PYTHON2_NAMES.get(`${module}\0${name}`);
  if (renamed) return { module: renamed[0], name: renamed[1] };
  return { module: PYTHON2_MODULES.get(module) ?? module, name };
}

/**
 * Allow-list first: a global is allowed when it only rebuilds weights or the
 * policy names it; every other global fails. The deny-list and the shape of
 * the name only decide how severe that failure is and what it says. A global
 * the deny-list names stays refused whatever the policy allows.
 */
export function judgeGlobal(global: Pick<PickleGlobal, 'module' | 'name' | 'unknown' | 'protocol'>, allowedByPolicy: readonly string[] = []): GlobalVerdict {
  if (global.unknown) {
    return {
      verdict: 'flagged',
      severity: 'CRITICAL',
      rule: 'unknown_global',
      why: 'the import is computed while unpickling (or is an extension code), so what it loads cannot be known without running it',
    };
  }
  const { module, name } = importedGlobal(global);
  const written = module === global.module && name === global.name ? '' : ` (written ${global.module}.${global.name}, which the unpickler maps to it below protocol 3)`;
  if (WEIGHTS_ONLY_GLOBALS.get(module)?.has(name)) return { verdict: 'allowed' };
  if (RAW_DATA_GLOBALS.get(module)?.has(name)) {
    return {
      verdict: 'flagged',
      severity: 'HIGH',
      rule: 'raw_data_in_pickle',
      why: `${module}.${name} makes joblib read array bytes straight from the stream in the middle of the pickle; the scan cannot tell where they end, so opcodes could hide behind them (save the arrays as .npy, safetensors or ONNX instead)`,
    };
  }
  const danger = dangerOf(module, name) ?? dangerOfAttributePath(module, name) ?? dangerousComponent(module, name);
  if (danger) return { verdict: 'flagged', severity: 'CRITICAL', rule: 'dangerous_global', why: danger + written };
  if (allowedByPolicy.some((pattern) => matches(pattern, module, name))) return { verdict: 'allowed' };
  const walk = attributeWalk(name);
  if (walk) {
    return {
      verdict: 'flagged',
      severity: 'HIGH',
      rule: 'attribute_walk',
      why: `${module}.${name} reaches ${walk} of ${module} through attribute lookups, as protocol 4 resolves dotted names: that is how a pickle gets at a module another module imported (random._os is os)${written}`,
    };
  }
  return {
    verdict: 'flagged',
    severity: 'HIGH',
    rule: 'unlisted_global',
    why: `unpickling imports ${module}.${name}${written} and may call it; only the globals torch.load(weights_only=True) accepts and numpy's array reconstruction are allowed, so it fails closed (if it is expected and trusted, add "${module}.${name}" to the policy's allowedGlobals)`,
  };
}

function dangerOf(module: string, name: string): string | undefined {
  const parts = module.split('.');
  for (let length = parts.length; length >= 1; length--) {
    const prefix = parts.slice(0, length).join('.');
    const rule = DANGEROUS_GLOBALS.get(prefix);
    if (rule === '*')
      return `${prefix} ${length === parts.length ? 'is' : 'contains'} a module that can run commands, open files or connections, or load other code, so unpickling it can run anything`;
    if (rule === 'methods') {
      if (length === parts.length && name.includes('.')) return `${module}.${name} is a method that reads or writes files, reached through a dotted name`;
      continue;
    }
    // Nested names (`Class.method`) are matched by their first component too.
    if (rule && length === parts.length && (rule.has(name) || rule.has(name.split('.')[0]))) {
      return `${module}.${name} can call arbitrary code or reach the file system when the pickle is loaded`;
    }
  }
  return undefined;
}

/**
 * From protocol 4 the unpickler resolves a dotted name attribute by attribute
 * (`torch` + `serialization.os.system` is os.system), so every owner along
 * the path is judged as a module of its own, and reaching into dunders is
 * never data.
 */
function dangerOfAttributePath(module: string, name: string): string | undefined {
  const attributes = name.split('.');
  if (attributes.length === 1) return undefined;
  if (attributes.some((attribute) => /^__.*__$/.test(attribute))) {
    return `${module}.${name} walks through Python internals (${attributes.filter((attribute) => /^__.*__$/.test(attribute)).join(', ')}), which reach any object`;
  }
  const last = attributes[attributes.length - 1];
  const owners = [module, ...attributes.slice(0, -1)];
  for (let start = 0; start < owners.length; start++) {
    const danger = dangerOf(owners.slice(start).join('.'), last);
    if (danger) return `${module}.${name} reaches ${owners.slice(start).join('.')}.${last} through attributes: ${danger}`;
  }
  return undefined;
}

/** Any component of the module or the name that is a dangerous module (`mylib.os`, `helpers.subprocess.run`) is reachable through it, as fickling judges. */
function dangerousComponent(module: string, name: string): string | undefined {
  const component = [...module.split('.'), ...name.split('.')].find((part) => DANGEROUS_COMPONENTS.has(part));
  return component && `${module}.${name} names ${component}, a module that can run commands, open files or connections, or load other code`;
}

/** The first attribute along a dotted name that is not a class (nested classes are how data types nest); undefined for plain names. */
function attributeWalk(name: string): string | undefined {
  const owners = name.split('.').slice(0, -1);
  return owners.find((owner) => !/^[A-Z]/.test(owner));
}

/** `module.name`, or `module.*` for every plain name of a module: a dotted name walks to other objects, so it is only allowed by naming it. */
function matches(pattern: string, module: string, name: string): boolean {
  return pattern.endsWith('.*') ? pattern.slice(0, -2) === module && !name.includes('.') : pattern === `${module}.${name}`;
}
