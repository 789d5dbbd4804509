import type { FindingSeverity } from './finding';
import type { PickleGlobal } from './pickle-reader';

/**
 * Globals a model checkpoint legitimately imports: picklescan's innocuous set,
 * plus the rebuild helpers, sizes and dtypes PyTorch's own weights-only
 * loader accepts. Each only rebuilds data; none can call arbitrary code.
 */
const SAFE_GLOBALS: Record<string, readonly string[]> = {
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
};

/**
 * Globals that run code, touch the file system or the network, or reach
 * something that does (picklescan's unsafe set). `*` marks a whole module,
 * and its submodules with it.
 */
const DANGEROUS_GLOBALS: Record<string, '*' | readonly string[]> = {
  builtins: ['eval', 'exec', 'compile', 'open', 'getattr', 'setattr', 'delattr', 'apply', '__import__', 'breakpoint', 'input', 'globals', 'locals', 'vars'],
  __builtin__: ['eval', 'exec', 'execfile', 'compile', 'open', 'file', 'getattr', 'setattr', 'delattr', 'apply', '__import__', 'input', 'globals', 'locals', 'vars'],
  operator: ['attrgetter', 'itemgetter', 'methodcaller'],
  _operator: ['attrgetter', 'itemgetter', 'methodcaller'],
  functools: ['partial', 'reduce'],
  types: ['CodeType', 'FunctionType', 'MethodType', 'ModuleType'],
  'cloudpickle.cloudpickle': ['_builtin_type', '_make_function', '_function_setstate', '_make_cell', '_make_empty_cell', 'subimport'],
  logging: ['FileHandler'],
  _io: ['FileIO'],
  io: ['FileIO', 'open', 'open_code'],
  pkgutil: ['resolve_name', 'get_data'],
  code: '*',
  codeop: '*',
  doctest: '*',
  ensurepip: '*',
  imaplib: ['IMAP4_stream'],
  'torch.serialization': ['load'],
  'torch._inductor.codecache': '*',
  'torch.jit.unsupported_tensor_ops': ['execWrapper'],
  'numpy.f2py': '*',
  'numpy.testing._private.utils': '*',
  ...Object.fromEntries(
    [
      'os', 'posix', 'nt', 'subprocess', 'commands', 'popen2', 'sys', 'socket', 'ssl', 'shutil', 'pty', 'runpy', 'pickle', '_pickle', 'cPickle', 'dill', 'marshal',
      'pdb', 'bdb', 'asyncio', 'ctypes', 'importlib', 'imp', 'zipimport', 'webbrowser', 'http', 'httplib', 'urllib', 'urllib2', 'requests', 'aiohttp', 'ftplib',
      'smtplib', 'telnetlib', 'xmlrpc', 'multiprocessing', 'threading', '_thread', 'signal', 'tempfile', 'glob', 'pathlib', 'cProfile', 'profile', 'pydoc', 'timeit',
      'trace', 'venv', 'pip', 'uuid', 'distutils', 'setuptools', 'platform', 'sysconfig', 'test', '_posixsubprocess', '_osx_support', '_aix_support', '_pyrepl',
    ].map((module) => [module, '*' as const]),
  ),
};

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
  if (SAFE_GLOBALS[module]?.includes(name)) return { verdict: 'allowed' };
  const danger = dangerOf(module, name) ?? dangerOfAttributePath(module, name);
  if (danger) return { verdict: 'flagged', severity: 'CRITICAL', rule: 'dangerous_global', why: danger };
  if (allowedByPolicy.some((pattern) => matches(pattern, module, name))) return { verdict: 'allowed' };
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
    const rule = DANGEROUS_GLOBALS[prefix];
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

/** `module.name`, or `module.*` for every name of a module. */
function matches(pattern: string, module: string, name: string): boolean {
  return pattern.endsWith('.*') ? pattern.slice(0, -2) === module : pattern === `${module}.${name}`;
}
