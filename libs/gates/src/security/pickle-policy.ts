import type { FindingSeverity } from './finding';
import type { PickleGlobal } from './pickle-reader';

/**
 * Globals a model checkpoint legitimately imports: picklescan's innocuous set,
 * plus the rebuild helpers, sizes and dtypes PyTorch's own weights-only
 * loader accepts. Each only rebuilds data; none can call arbitrary code.
 */
const SAFE_GLOBALS = new Map<string, readonly string[]>(Object.entries({
  collections: ['OrderedDict', 'Counter'],
  builtins: ['set', 'frozenset', 'bytearray', 'slice', 'complex', 'range'],
  __builtin__: ['set', 'frozenset', 'bytearray', 'slice', 'complex', 'xrange'],
  torch: [
    ...['Long', 'Float', 'Half', 'QUInt2x4', 'QUInt4x2', 'QInt32', 'QInt8', 'QUInt8', 'ComplexFloat', 'ComplexDouble', 'Double', 'BFloat16', 'Bool', 'Char', 'Short', 'Int', 'Byte'].map(
      (kind) => `${kind}Storage`,
    ),
    'Size',
    ...['float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool', 'complex64', 'complex128'],
  ],
  'torch._utils': ['_rebuild_tensor_v2', '_rebuild_parameter'],
  numpy: ['dtype', 'ndarray'],
  'numpy.core.multiarray': ['_reconstruct', 'scalar'],
  'numpy._core.multiarray': ['_reconstruct', 'scalar'],
  uuid: ['UUID'],
}));

/**
 * Globals that run code, touch the file system or the network, or reach
 * something that does (picklescan's unsafe set). `*` marks a whole module,
 * and its submodules with it.
 */
const DANGEROUS_GLOBALS = new Map<string, '*' | readonly string[]>(Object.entries({
  builtins: ['eval', 'exec', 'compile', 'open', 'getattr', 'setattr', 'delattr', 'apply', '__import__', 'breakpoint', 'input', 'globals', 'locals', 'vars'],
  __builtin__: ['eval', 'exec', 'execfile', 'compile', 'open', 'file', 'getattr', 'setattr', 'delattr', 'apply', '__import__', 'input', 'globals', 'locals', 'vars'],
  operator: ['attrgetter', 'itemgetter', 'methodcaller'],
  _operator: ['attrgetter', 'itemgetter', 'methodcaller'],
  functools: ['partial', 'reduce'],
  types: ['CodeType', 'FunctionType', 'MethodType', 'ModuleType'],
  'cloudpickle.cloudpickle': ['_builtin_type', '_make_function', '_function_setstate', '_make_cell', '_make_empty_cell', 'subimport'],
  logging: ['FileHandler'],
  _io: ['FileIO', 'open', 'open_code'],
  io: ['FileIO', 'open', 'open_code'],
  tarfile: ['bltn_open', 'open'],
  pkgutil: ['resolve_name', 'get_data'],
  code: '*',
  codeop: '*',
  doctest: '*',
  ensurepip: '*',
  imaplib: ['IMAP4_stream'],
  // Loaders that unpickle another file, beyond this scan's reach.
  torch: ['load'],
  'torch.serialization': ['load'],
  numpy: ['load'],
  joblib: ['load'],
  'joblib.numpy_pickle': ['load'],
  'torch._inductor.codecache': '*',
  'torch.jit.unsupported_tensor_ops': ['execWrapper'],
  'numpy.f2py': '*',
  'numpy.testing._private.utils': '*',
  ...Object.fromEntries(
    [
      'os', 'posix', 'nt', 'subprocess', 'commands', 'popen2', 'sys', 'socket', 'ssl', 'shutil', 'pty', 'runpy', 'pickle', '_pickle', 'cPickle', 'dill', 'marshal',
      'pdb', 'bdb', 'asyncio', 'ctypes', 'importlib', 'imp', 'zipimport', 'webbrowser', 'http', 'httplib', 'urllib', 'urllib2', 'requests', 'aiohttp', 'ftplib',
      'smtplib', 'telnetlib', 'xmlrpc', 'multiprocessing', 'threading', '_thread', 'signal', 'tempfile', 'glob', 'cProfile', 'profile', 'pydoc', 'timeit',
      'trace', 'venv', 'pip', 'distutils', 'setuptools', 'platform', 'sysconfig', 'test', '_posixsubprocess', '_osx_support', '_aix_support', '_pyrepl',
      // Python 2 names the unpickler maps to Python 3 modules below protocol 3 (_compat_pickle).
      'thread', 'dummy_thread', 'SimpleHTTPServer', 'BaseHTTPServer', 'CGIHTTPServer', 'SocketServer', 'socketserver', 'xmlrpclib',
    ].map((module) => [module, '*' as const]),
  ),
  // uuid.UUID is data; the module's helpers run commands.
  uuid: ['_get_command_stdout', '_ifconfig_getnode', '_ip_getnode', '_arp_getnode', '_lanscan_getnode', '_netstat_getnode', '_popen'],
}));

/** Globals after which the unpickler reads raw bytes that are not pickle opcodes, so no opcode reader can follow the stream. */
const RAW_DATA_GLOBALS = new Map<string, readonly string[]>([
  ['joblib.numpy_pickle', ['NumpyArrayWrapper', 'NDArrayWrapper', 'ZNDArrayWrapper']],
  ['joblib.numpy_pickle_compat', ['NDArrayWrapper', 'ZNDArrayWrapper']],
  ['sklearn.externals.joblib.numpy_pickle', ['NumpyArrayWrapper', 'NDArrayWrapper', 'ZNDArrayWrapper']],
]);

export type GlobalVerdict = { verdict: 'allowed' } | { verdict: 'flagged'; severity: FindingSeverity; rule: string; why: string };

/**
 * Allow-list first: a global is either known to only rebuild data, allowed
 * by the policy, known to be dangerous, or unresolvable — and anything else
 * is still named, as a warning, because unpickling imports and may call it.
 */
export function judgeGlobal(global: Pick<PickleGlobal, 'module' | 'name' | 'unknown'>, allowedByPolicy: readonly string[] = []): GlobalVerdict {
  const { module, name } = global;
  if (global.unknown) {
    return { verdict: 'flagged', severity: 'CRITICAL', rule: 'unknown_global', why: 'the import is computed while unpickling (or is an extension code), so what it loads cannot be known without running it' };
  }
  if (SAFE_GLOBALS.get(module)?.includes(name)) return { verdict: 'allowed' };
  const danger = dangerOf(module, name) ?? dangerOfAttributePath(module, name);
  if (danger) return { verdict: 'flagged', severity: 'CRITICAL', rule: 'dangerous_global', why: danger };
  if (RAW_DATA_GLOBALS.get(module)?.includes(name)) {
    return {
      verdict: 'flagged',
      severity: 'HIGH',
      rule: 'raw_data_in_pickle',
      why: `${module}.${name} makes joblib read array bytes straight from the stream in the middle of the pickle; the scan cannot tell where they end, so opcodes could hide behind them (save the arrays as .npy, safetensors or ONNX instead)`,
    };
  }
  if (allowedByPolicy.some((pattern) => matches(pattern, module, name))) return { verdict: 'allowed' };
  const walk = attributeWalk(name);
  if (walk) {
    return { verdict: 'flagged', severity: 'HIGH', rule: 'attribute_walk', why: `${module}.${name} reaches ${walk} of ${module} through attribute lookups, as protocol 4 resolves dotted names: that is how a pickle gets at a module another module imported (random._os is os)` };
  }
  return {
    verdict: 'flagged',
    severity: 'MEDIUM',
    rule: 'unlisted_global',
    why: `unpickling imports ${module}.${name} and may call it; it is not in the allow-list (add it to the policy's allowedGlobals if it is expected)`,
  };
}

function dangerOf(module: string, name: string): string | undefined {
  const parts = module.split('.');
  for (let length = parts.length; length >= 1; length--) {
    const prefix = parts.slice(0, length).join('.');
    const rule = DANGEROUS_GLOBALS.get(prefix);
    if (rule === '*') return `${prefix} ${length === parts.length ? 'is' : 'contains'} a module that can run commands, open files or connections, or load other code, so unpickling it can run anything`;
    // Nested names (`Class.method`) are matched by their first component too.
    if (rule && length === parts.length && (rule.includes(name) || rule.includes(name.split('.')[0]))) {
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

/** The first attribute along a dotted name that is not a class (nested classes are how data types nest); undefined for plain names. */
function attributeWalk(name: string): string | undefined {
  const owners = name.split('.').slice(0, -1);
  return owners.find((owner) => !/^[A-Z]/.test(owner));
}

/** `module.name`, or `module.*` for every name of a module. */
function matches(pattern: string, module: string, name: string): boolean {
  return pattern.endsWith('.*') ? pattern.slice(0, -2) === module : pattern === `${module}.${name}`;
}
