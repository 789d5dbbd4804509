import { execFileSync } from 'node:child_process';
import { readPickles } from './pickle-reader';

const bytes = (...parts: (string | number[] | Uint8Array)[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));
const shortUnicode = (text: string) => bytes([0x8c, text.length], text);
const frame = (body: Buffer) => {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(body.length));
  return bytes([0x80, 0x04, 0x95], [...length], [...body]);
};
const imports = (data: Uint8Array) => readPickles(data).globals.map((g) => `${g.opcode}:${g.module}.${g.name}${g.unknown ? ' (unknown)' : ''}`);

describe('readPickles', () => {
  it('finds a protocol 0 GLOBAL called through REDUCE', () => {
    const reading = readPickles(bytes("cos\nsystem\n(S'echo hi'\ntR."));
    expect(reading).toMatchObject({ pickles: 1, error: null, globals: [{ module: 'os', name: 'system', offset: 0, opcode: 'GLOBAL', unknown: false }] });
  });

  it('resolves STACK_GLOBAL from the strings before it, through MEMOIZE and BINGET', () => {
    // 'posix' is memoised, popped, and fetched back from the memo before STACK_GLOBAL.
    const body = bytes(shortUnicode('posix'), [0x94, 0x30, 0x68, 0x00], shortUnicode('system'), [0x94, 0x93, 0x94], shortUnicode('id'), [0x85, 0x52, 0x2e]);
    const reading = readPickles(frame(body));
    expect(reading.error).toBeNull();
    expect(reading.globals).toEqual([{ module: 'posix', name: 'system', offset: 11 + 20, opcode: 'STACK_GLOBAL', unknown: false }]);
  });

  it('resolves through protocol 0 PUT and GET and protocol 1 LONG_BINPUT and LONG_BINGET', () => {
    expect(imports(bytes("S'subprocess'\np7\n0S'check_output'\ng7\nS'run'\n\x93."))).toEqual(['STACK_GLOBAL:subprocess.run']);
    expect(imports(bytes('X', [8, 0, 0, 0], 'builtins', 'r', [1, 1, 0, 0], '0X', [4, 0, 0, 0], 'eval', 'j', [1, 1, 0, 0], 'X', [4, 0, 0, 0], 'exec', '\x93.'))).toEqual([
      'STACK_GLOBAL:builtins.exec',
    ]);
  });

  it('reports a global it cannot resolve as unknown', () => {
    expect(imports(bytes([0x80, 0x04, 0x4e], shortUnicode('system'), [0x93, 0x2e]))).toEqual(['STACK_GLOBAL:?.system (unknown)']);
    expect(imports(bytes([0x80, 0x02, 0x82, 0x01, 0x2e]))).toEqual(['EXT:?.? (unknown)']);
    expect(imports(bytes([0x80, 0x04, 0x68, 0x09], shortUnicode('system'), [0x93, 0x2e]))).toEqual(['STACK_GLOBAL:?.system (unknown)']);
  });

  it('finds INST and OBJ-style imports and benign ones alike', () => {
    expect(imports(bytes("(S'ls'\nios\nsystem\n."))).toEqual(['INST:os.system']);
    expect(imports(bytes('\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.'))).toEqual(['GLOBAL:collections.OrderedDict']);
  });

  it('reads every pickle concatenated in the input, or only as many as asked', () => {
    const first = bytes('\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00.');
    const second = bytes("cnt\nsystem\n(S'dir'\ntR.");
    const both = Buffer.concat([first, second]);
    expect(readPickles(both)).toMatchObject({ pickles: 2, error: null, end: both.length });
    expect(imports(both)).toEqual(['GLOBAL:torch._utils._rebuild_tensor_v2', 'GLOBAL:nt.system']);
    expect(readPickles(both, 1)).toMatchObject({ pickles: 1, end: first.length, globals: [{ module: 'torch._utils' }] });
  });

  it('keeps the globals found before a pickle breaks, and says where it broke', () => {
    const truncated = readPickles(bytes("cos\nsystem\n(S'ls'\nt"));
    expect(truncated).toMatchObject({ pickles: 0, end: 0, globals: [{ module: 'os', name: 'system' }] });
    expect(truncated.error).toEqual({ offset: 19, message: 'truncated: the pickle ends inside an opcode', truncated: true });
    expect(readPickles(bytes('\x80\x02cos\nsystem\n\xff')).error).toEqual({ offset: 13, message: 'unknown opcode 0xff', truncated: false });
    expect(readPickles(bytes('\x80\x02R.')).error).toEqual({ offset: 2, message: 'stack underflow', truncated: false });
    expect(readPickles(bytes('\x80\x02t.')).error?.message).toBe('no MARK on the stack');
    expect(readPickles(bytes('T', [0xff, 0xff, 0xff, 0xff])).error?.message).toBe('negative length');
  });

  it('skips over bytes, numbers and frames without mistaking them for opcodes', () => {
    // The payloads hold byte values that are opcodes ("c" GLOBAL, 0x93 STACK_GLOBAL).
    const data = bytes('\x80\x03', 'C', [3], 'cos', 'B', [2, 0, 0, 0], [0x93, 0x93], 'J', [0x63, 0x63, 0x63, 0x63], 'K', [0x63], 'M', [0x63, 0x63], 'G', [0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63], '\x8a', [2, 0x63, 0x63], '(t.');
    expect(readPickles(data)).toMatchObject({ pickles: 1, error: null, globals: [] });
  });

  it('decodes protocol 0 STRING and UNICODE arguments exactly as CPython does, so escapes cannot hide a module', () => {
    const arguments_ = ["S'o\\x73'", "S'o\\163'", "S\"o\\x73\"", "S'a\\qb'", "S'\\\\x73'", "S'\\n\\t\\''", 'Vo\\u0073', 'Vo\\\\u0073', 'Vo\\\\\\u0073', 'Vo\\U00000073', 'V\\u00e9t\\xe9'];
    const pickles = arguments_.map((argument) => bytes(argument, '\n', "S'system'\n\x93."));
    // pickletools decodes each argument with the unpickler's own codecs, and imports nothing.
    const script = 'import io, json, pickletools, sys\nprint(json.dumps([next(pickletools.genops(io.BytesIO(bytes.fromhex(h))))[1] for h in json.load(sys.stdin)]))';
    const python = JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(pickles.map((pickle) => pickle.toString('hex'))), encoding: 'utf8' })) as string[];
    expect(pickles.map((pickle) => readPickles(pickle).globals[0].module)).toEqual(python);
    expect(python.slice(0, 3)).toEqual(['os', 'os', 'os']);
    expect(python[6]).toBe('os');
  });
});
