import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { PICKLE_SENTINEL, brokenPickle, hostilePickles, legacyTorchFile, pickleBytes, stateDictPickle, unresolvablePickle } from '../../../test/fixtures/pickles';
import { bufferSource } from './byte-source';
import { judgeGlobal } from './pickle-policy';
import { readPickles } from './pickle-reader';
import { scanPickles } from './pickle-scanner';

const place = { file: 'model.pkl', path: [] };
const options: { maxBytes: number; allowedGlobals: string[] } = { maxBytes: 64 * 1024 * 1024, allowedGlobals: [] };
const scan = async (bytes: Uint8Array, overrides: Partial<typeof options> = {}) => (await scanPickles(bufferSource(bytes), place, { ...options, ...overrides })).findings;

beforeAll(() => rmSync(PICKLE_SENTINEL, { force: true }));
afterAll(() => expect(existsSync(PICKLE_SENTINEL)).toBe(false));

describe('the pickle fixtures', () => {
  it('are pickles Python itself reads, importing the globals our reader lists', () => {
    // pickletools only disassembles: it never imports or calls anything.
    const script = [
      'import base64, json, pickletools, io, sys',
      'out = {}',
      'for name, data in json.load(sys.stdin).items():',
      '    stream, offsets = io.BytesIO(base64.b64decode(data)), []',
      '    for _ in range(5 if name == "legacy" else 1):',
      '        offsets += [pos for op, arg, pos in pickletools.genops(stream) if op.name in ("GLOBAL", "INST", "STACK_GLOBAL")]',
      '    out[name] = offsets',
      'print(json.dumps(out))',
    ].join('\n');
    const fixtures: Record<string, Buffer> = { state: stateDictPickle(['a', 'b']), legacy: legacyTorchFile(), unresolvable: unresolvablePickle() };
    for (const hostile of hostilePickles()) fixtures[hostile.name] = hostile.bytes;
    const input = JSON.stringify(Object.fromEntries(Object.entries(fixtures).map(([name, bytes]) => [name, bytes.toString('base64')])));
    const python = JSON.parse(execFileSync('python3', ['-c', script], { input, encoding: 'utf8' })) as Record<string, number[]>;
    for (const [name, bytes] of Object.entries(fixtures)) {
      expect({ name, offsets: readPickles(bytes, name === 'legacy' ? 5 : Infinity).globals.map((global) => global.offset) }).toEqual({ name, offsets: python[name] });
    }
  });
});

describe('scanPickles', () => {
  it.each(hostilePickles().map((hostile) => ({ ...hostile })))('flags $name as critical, naming the global and its opcode offset', async ({ bytes, global }) => {
    const findings = await scan(bytes);
    const [module, name] = [global.slice(0, global.lastIndexOf('.')), global.slice(global.lastIndexOf('.') + 1)];
    expect(findings).toEqual([expect.objectContaining({ severity: 'CRITICAL', rule: 'dangerous_global', file: 'model.pkl', module, name })]);
    const offset = readPickles(bytes).globals[0].offset;
    expect(findings[0].location).toMatch(new RegExp(`opcode at byte ${offset}$`));
  });

  it('passes a torch state dict, whose globals only rebuild tensors', async () => {
    expect(await scan(stateDictPickle(['encoder.weight', 'encoder.bias']))).toEqual([]);
  });

  it('reads only the five pickles of a legacy torch.save file, not the raw storage after them', async () => {
    expect(await scan(legacyTorchFile())).toEqual([]);
    expect(await scan(legacyTorchFile(stateDictPickle(), { framed: true }))).toEqual([]);
    const hostile = await scan(legacyTorchFile(hostilePickles()[1].bytes));
    expect(hostile).toEqual([expect.objectContaining({ severity: 'CRITICAL', module: 'builtins', name: 'exec' })]);
  });

  it('treats a global computed at load time as critical, and fails unlisted ones as high', async () => {
    const findings = await scan(unresolvablePickle());
    expect(findings.map(({ severity, rule, module, name }) => ({ severity, rule, module, name }))).toEqual([
      { severity: 'HIGH', rule: 'unlisted_global', module: 'builtins', name: 'str' },
      { severity: 'CRITICAL', rule: 'unknown_global', module: '?', name: 'system' },
    ]);
  });

  it('reports the globals found before a pickle breaks, and fails on the break', async () => {
    const findings = await scan(brokenPickle());
    expect(findings.map(({ severity, rule }) => ({ severity, rule }))).toEqual([
      { severity: 'CRITICAL', rule: 'dangerous_global' },
      { severity: 'HIGH', rule: 'pickle_unreadable' },
    ]);
    expect(findings[1].location).toBe('byte 13');
  });

  it('scans every pickle concatenated in a file', async () => {
    const findings = await scan(Buffer.concat([stateDictPickle(), hostilePickles()[0].bytes]));
    expect(findings).toEqual([expect.objectContaining({ module: 'os', name: 'system' })]);
  });

  it('reads past its first window when a pickle is longer, and refuses one longer than the policy allows', async () => {
    const padding = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const long = pickleBytes([0x80, 0x02, 0x42], [padding.length & 0xff, (padding.length >> 8) & 0xff, (padding.length >> 16) & 0xff, 0], padding, '0cos\nsystem\n.');
    expect(await scan(long)).toEqual([expect.objectContaining({ module: 'os', name: 'system', severity: 'CRITICAL' })]);
    expect((await scan(long, { maxBytes: 1024 * 1024 })).map((finding) => finding.rule)).toEqual(['pickle_too_large']);
  });

  it('never throws on module names that are JavaScript object properties', async () => {
    for (const module of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(await scan(pickleBytes(`\x80\x02c${module}\nsystem\n.`))).toEqual([expect.objectContaining({ module, rule: 'unlisted_global' })]);
    }
  });

  it('allows what the policy adds, but never a dangerous global', async () => {
    const custom = pickleBytes('\x80\x02cmylab.config\nTrainConfig\n)R.');
    expect(await scan(custom)).toEqual([expect.objectContaining({ severity: 'HIGH', rule: 'unlisted_global', module: 'mylab.config', name: 'TrainConfig' })]);
    expect(await scan(custom, { allowedGlobals: ['mylab.config.*'] })).toEqual([]);
    expect(await scan(hostilePickles()[0].bytes, { allowedGlobals: ['os.system', 'os.*'] })).toEqual([expect.objectContaining({ severity: 'CRITICAL' })]);
  });
});

describe('judgeGlobal', () => {
  const judge = (global: string, protocol = 4) => {
    const at = global.lastIndexOf('.');
    const judged = judgeGlobal({ module: global.slice(0, at), name: global.slice(at + 1), unknown: false, protocol });
    return judged.verdict === 'allowed' ? 'allowed' : `${judged.severity} ${judged.rule}`;
  };

  it.each([
    // The weights-only set and numpy's array reconstruction.
    ['collections.OrderedDict', 'allowed'],
    ['torch.BFloat16Storage', 'allowed'],
    ['torch._utils._rebuild_tensor_v2', 'allowed'],
    ['torch._utils._rebuild_parameter', 'allowed'],
    ['torch.nn.parameter.Parameter', 'allowed'],
    ['torch.float8_e4m3fn', 'allowed'],
    ['torch.storage.UntypedStorage', 'allowed'],
    ['_codecs.encode', 'allowed'],
    ['builtins.set', 'allowed'],
    ['numpy.core.multiarray._reconstruct', 'allowed'],
    ['numpy._core.multiarray.scalar', 'allowed'],
    ['numpy.dtype', 'allowed'],
    // Off the allow-list: fails, however harmless it looks.
    ['builtins.len', 'HIGH unlisted_global'],
    ['builtins.slice', 'HIGH unlisted_global'],
    ['collections.defaultdict', 'HIGH unlisted_global'],
    ['pathlib.PosixPath', 'HIGH unlisted_global'],
    ['sklearn.linear_model.LogisticRegression', 'HIGH unlisted_global'],
    ['torch.nn.modules.linear.Linear', 'HIGH unlisted_global'],
    ['joblib.numpy_pickle.NumpyArrayWrapper', 'HIGH raw_data_in_pickle'],
    // Known to run code: the deny-list sets severity and says why.
    ['builtins.eval', 'CRITICAL dangerous_global'],
    ['os.path.join', 'CRITICAL dangerous_global'],
    ['urllib.request.urlopen', 'CRITICAL dangerous_global'],
    ['operator.attrgetter', 'CRITICAL dangerous_global'],
    ['functools.partial', 'CRITICAL dangerous_global'],
    ['types.CodeType', 'CRITICAL dangerous_global'],
    ['numpy.f2py.crackfortran.getlincoef', 'CRITICAL dangerous_global'],
    ['torch.serialization.load', 'CRITICAL dangerous_global'],
    ['torch.load', 'CRITICAL dangerous_global'],
    ['numpy.load', 'CRITICAL dangerous_global'],
    ['tarfile.bltn_open', 'CRITICAL dangerous_global'],
    ['_io.open', 'CRITICAL dangerous_global'],
    ['uuid._get_command_stdout', 'CRITICAL dangerous_global'],
    // Gadgets that passed the deny-list-in-practice before (issue 14).
    ['logging.config._resolve', 'CRITICAL dangerous_global'],
    ['logging.config.dictConfig', 'CRITICAL dangerous_global'],
    ['_ctypes.dlopen', 'CRITICAL dangerous_global'],
    ['_frozen_importlib.BuiltinImporter', 'CRITICAL dangerous_global'],
    ['inspect.getattr_static', 'CRITICAL dangerous_global'],
    ['idlelib.pyshell.ModifiedInterpreter', 'CRITICAL dangerous_global'],
    ['lib2to3.pgen2.grammar.Grammar', 'CRITICAL dangerous_global'],
    ['_xxsubinterpreters.run_string', 'CRITICAL dangerous_global'],
    ['torch.storage._load_from_bytes', 'CRITICAL dangerous_global'],
    ['numpy.lib.npyio.load', 'CRITICAL dangerous_global'],
    ['antigravity.geohash', 'CRITICAL dangerous_global'],
  ])('%s is %s', (global, verdict) => {
    expect(judge(global)).toBe(verdict);
  });

  it.each([
    // CPython maps these before importing, below protocol 3 (_compat_pickle).
    ['__builtin__.getattr', 2, 'CRITICAL dangerous_global'],
    ['__builtin__.set', 2, 'allowed'],
    ['__builtin__.set', 3, 'CRITICAL dangerous_global'],
    ['copy_reg._reconstructor', 1, 'HIGH unlisted_global'],
    ['cStringIO.StringIO', 0, 'HIGH unlisted_global'],
    ['SimpleXMLRPCServer.SimpleXMLRPCServer', 2, 'CRITICAL dangerous_global'],
    ['thread.start_new_thread', 2, 'CRITICAL dangerous_global'],
    ['__builtin__.reduce', 2, 'CRITICAL dangerous_global'],
    ['UserDict.UserDict', 2, 'HIGH unlisted_global'],
  ])('%s at protocol %i is %s', (global, protocol, verdict) => {
    expect(judge(global, protocol)).toBe(verdict);
  });

  it('says which name CPython imports when it maps a Python 2 one', () => {
    const judged = judgeGlobal({ module: 'cStringIO', name: 'StringIO', unknown: false, protocol: 2 });
    expect(judged).toMatchObject({ verdict: 'flagged', why: expect.stringContaining('io.StringIO (written cStringIO.StringIO') });
  });

  it.each([
    { module: 'torch', name: 'serialization.os.system', verdict: 'CRITICAL dangerous_global' },
    { module: 'torch', name: 'serialization.load', verdict: 'CRITICAL dangerous_global' },
    { module: 'numpy', name: 'core.numeric.builtins.eval', verdict: 'CRITICAL dangerous_global' },
    { module: 'collections', name: 'OrderedDict.__init__.__globals__', verdict: 'CRITICAL dangerous_global' },
    { module: 'code', name: 'InteractiveInterpreter.runcode', verdict: 'CRITICAL dangerous_global' },
    { module: 'pathlib', name: 'Path.write_text', verdict: 'CRITICAL dangerous_global' },
    { module: 'mylib.helpers', name: 'subprocess.run', verdict: 'CRITICAL dangerous_global' },
    { module: 'random', name: '_os.system', verdict: 'HIGH attribute_walk' },
    { module: 'enum', name: 'bltns.exec', verdict: 'HIGH attribute_walk' },
    { module: 'mylab.models', name: 'Encoder.Config', verdict: 'HIGH unlisted_global' },
  ])('judges the dotted name $module + $name (protocol 4 attribute walk) as $verdict', ({ module, name, verdict }) => {
    const judged = judgeGlobal({ module, name, unknown: false, protocol: 4 });
    expect(judged.verdict === 'allowed' ? 'allowed' : `${judged.severity} ${judged.rule}`).toBe(verdict);
  });
});
