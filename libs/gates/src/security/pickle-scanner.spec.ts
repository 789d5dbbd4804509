import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { PICKLE_SENTINEL, brokenPickle, hostilePickles, legacyTorchFile, pickleBytes, stateDictPickle, unresolvablePickle } from '../../../../test/fixtures/pickles';
import { bufferSource } from './byte-source';
import { judgeGlobal } from './pickle-policy';
import { readPickles } from './pickle-reader';
import { scanPickles } from './pickle-scanner';

const place = { file: 'model.pkl', path: [] };
const options: { maxBytes: number; allowedGlobals: string[] } = { maxBytes: 64 * 1024 * 1024, allowedGlobals: [] };
const scan = (bytes: Uint8Array, overrides: Partial<typeof options> = {}) => scanPickles(bufferSource(bytes), place, { ...options, ...overrides });

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

  it('treats a global computed at load time as critical, and names unlisted ones as medium', async () => {
    const findings = await scan(unresolvablePickle());
    expect(findings.map(({ severity, rule, module, name }) => ({ severity, rule, module, name }))).toEqual([
      { severity: 'MEDIUM', rule: 'unlisted_global', module: 'builtins', name: 'str' },
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
    expect(await scan(custom)).toEqual([expect.objectContaining({ severity: 'MEDIUM', rule: 'unlisted_global', module: 'mylab.config', name: 'TrainConfig' })]);
    expect(await scan(custom, { allowedGlobals: ['mylab.config.*'] })).toEqual([]);
    expect(await scan(hostilePickles()[0].bytes, { allowedGlobals: ['os.system', 'os.*'] })).toEqual([expect.objectContaining({ severity: 'CRITICAL' })]);
  });
});

describe('judgeGlobal', () => {
  it.each([
    { global: 'collections.OrderedDict', verdict: 'allowed' },
    { global: 'torch.BFloat16Storage', verdict: 'allowed' },
    { global: 'numpy.core.multiarray._reconstruct', verdict: 'allowed' },
    { global: 'builtins.eval', verdict: 'dangerous_global' },
    { global: '__builtin__.getattr', verdict: 'dangerous_global' },
    { global: 'os.path.join', verdict: 'dangerous_global' },
    { global: 'urllib.request.urlopen', verdict: 'dangerous_global' },
    { global: 'operator.attrgetter', verdict: 'dangerous_global' },
    { global: 'functools.partial', verdict: 'dangerous_global' },
    { global: 'types.CodeType', verdict: 'dangerous_global' },
    { global: 'numpy.f2py.crackfortran.getlincoef', verdict: 'dangerous_global' },
    { global: 'torch.serialization.load', verdict: 'dangerous_global' },
    { global: 'torch.load', verdict: 'dangerous_global' },
    { global: 'numpy.load', verdict: 'dangerous_global' },
    { global: 'tarfile.bltn_open', verdict: 'dangerous_global' },
    { global: '_io.open', verdict: 'dangerous_global' },
    { global: 'thread.start_new_thread', verdict: 'dangerous_global' },
    { global: 'uuid._get_command_stdout', verdict: 'dangerous_global' },
    { global: 'uuid.UUID', verdict: 'allowed' },
    { global: 'pathlib.PosixPath', verdict: 'unlisted_global' },
    { global: 'joblib.numpy_pickle.NumpyArrayWrapper', verdict: 'raw_data_in_pickle' },
    { global: 'builtins.len', verdict: 'unlisted_global' },
    { global: 'sklearn.linear_model.LogisticRegression', verdict: 'unlisted_global' },
  ])('$global is $verdict', ({ global, verdict }) => {
    const at = global.lastIndexOf('.');
    const judged = judgeGlobal({ module: global.slice(0, at), name: global.slice(at + 1), unknown: false });
    expect(judged.verdict === 'allowed' ? 'allowed' : judged.rule).toBe(verdict);
  });

  it.each([
    { module: 'torch', name: 'serialization.os.system', verdict: 'dangerous_global' },
    { module: 'torch', name: 'serialization.load', verdict: 'dangerous_global' },
    { module: 'numpy', name: 'core.numeric.builtins.eval', verdict: 'dangerous_global' },
    { module: 'collections', name: 'OrderedDict.__init__.__globals__', verdict: 'dangerous_global' },
    { module: 'code', name: 'InteractiveInterpreter.runcode', verdict: 'dangerous_global' },
    { module: 'random', name: '_os.system', verdict: 'attribute_walk' },
    { module: 'enum', name: 'bltns.exec', verdict: 'attribute_walk' },
    { module: 'mylab.models', name: 'Encoder.Config', verdict: 'unlisted_global' },
  ])('judges the dotted name $module + $name (protocol 4 attribute walk) as $verdict', ({ module, name, verdict }) => {
    const judged = judgeGlobal({ module, name, unknown: false });
    expect(judged.verdict === 'allowed' ? 'allowed' : judged.rule).toBe(verdict);
  });
});
