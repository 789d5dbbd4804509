import { execFileSync } from 'node:child_process';
import { bufferSource } from './byte-source';
import { readPickleSource, readPickles, readsAsPickle } from './pickle-reader';

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
    expect(reading.globals).toEqual([{ module: 'posix', name: 'system', offset: 11 + 20, opcode: 'STACK_GLOBAL', unknown: false, protocol: 4, called: true }]);
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
    expect(imports(bytes([0x80, 0x04, 0x4e, 0x94, 0x30, 0x68, 0x00], shortUnicode('system'), [0x93, 0x2e]))).toEqual(['STACK_GLOBAL:?.system (unknown)']);
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
    expect(truncated.error).toEqual({ offset: 19, message: 'truncated: the pickle ends inside an opcode', kind: 'truncated' });
    expect(readPickles(bytes('\x80\x02cos\nsystem\n\xff')).error).toEqual({ offset: 13, message: 'unknown opcode 0xff', kind: 'format' });
    expect(readPickles(bytes('\x80\x02R.')).error).toEqual({ offset: 2, message: 'unpickling stack underflow', kind: 'format' });
    expect(readPickles(bytes('\x80\x02t.')).error?.message).toBe('could not find MARK');
    expect(readPickles(bytes('T', [0xff, 0xff, 0xff, 0xff])).error?.message).toBe('BINSTRING pickle has negative byte count');
  });

  it('skips over bytes, numbers and frames without mistaking them for opcodes', () => {
    // The payloads hold byte values that are opcodes ("c" GLOBAL, 0x93 STACK_GLOBAL).
    const data = bytes(
      '\x80\x03',
      'C',
      [3],
      'cos',
      'B',
      [2, 0, 0, 0],
      [0x93, 0x93],
      'J',
      [0x63, 0x63, 0x63, 0x63],
      'K',
      [0x63],
      'M',
      [0x63, 0x63],
      'G',
      [0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63],
      '\x8a',
      [2, 0x63, 0x63],
      '(t.',
    );
    expect(readPickles(data)).toMatchObject({ pickles: 1, error: null, globals: [] });
  });

  it('decodes protocol 0 STRING and UNICODE arguments exactly as CPython does, so escapes cannot hide a module', () => {
    const arguments_ = [
      "S'o\\x73'",
      "S'o\\163'",
      'S"o\\x73"',
      "S'a\\qb'",
      "S'\\\\x73'",
      "S'\\n\\t\\''",
      'Vo\\u0073',
      'Vo\\\\u0073',
      'Vo\\\\\\u0073',
      'Vo\\U00000073',
      'V\\u00e9t\\xe9',
    ];
    const pickles = arguments_.map((argument) => bytes(argument, '\n', "S'system'\n\x93."));
    // pickletools decodes each argument with the unpickler's own codecs, and imports nothing.
    const script = 'import io, json, pickletools, sys\nprint(json.dumps([next(pickletools.genops(io.BytesIO(bytes.fromhex(h))))[1] for h in json.load(sys.stdin)]))';
    const python = JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(pickles.map((pickle) => pickle.toString('hex'))), encoding: 'utf8' })) as string[];
    expect(pickles.map((pickle) => readPickles(pickle).globals[0].module)).toEqual(python);
    expect(python.slice(0, 3)).toEqual(['os', 'os', 'os']);
    expect(python[6]).toBe('os');
  });

  it('keeps to the stack fence a MARK puts up, as CPython does', () => {
    // After MARK only POP (which then pops the mark), POP_MARK and the collecting opcodes reach below it.
    expect(readPickles(bytes('\x80\x02N(R.')).error?.message).toBe('unpickling stack underflow');
    expect(readPickles(bytes('\x80\x02N(2.')).error?.message).toBe('unpickling stack underflow');
    expect(readPickles(bytes('\x80\x02N(0.'))).toMatchObject({ pickles: 1, error: null });
    expect(readPickles(bytes('\x80\x02]Na.'))).toMatchObject({ pickles: 1, error: null });
    expect(readPickles(bytes('\x80\x02Na.')).error?.message).toBe('unpickling stack underflow');
    expect(readPickles(bytes('\x80\x02h\x05.')).error?.message).toBe('memo value not found at index 5');
  });

  it('decodes GLOBAL as UTF-8 and INST as ASCII, refusing what CPython refuses', () => {
    expect(readPickles(bytes('c\xffos\nsystem\n.')).error?.message).toBe('a text argument is not valid UTF-8');
    expect(readPickles(bytes('(i\xe9\nx\n.')).error?.message).toBe('a text argument that must be ASCII is not');
    expect(imports(bytes('c\xc3\xa9t\xc3\xa9\nx\n.'))).toEqual(['GLOBAL:\u00e9t\u00e9.x']);
    expect(readPickles(bytes('S-unquoted\n.')).error?.message).toBe('the STRING opcode argument must be quoted');
    expect(readPickles(bytes('\x80\x06N.')).error?.message).toBe('unsupported pickle protocol: 6');
  });

  it('records the protocol in force at each import, per pickle', () => {
    const reading = readPickles(bytes('c__builtin__\nset\n.', '\x80\x02c__builtin__\nset\n.', '\x80\x04\x95', [9, 0, 0, 0, 0, 0, 0, 0], '\x8c\x02os\x8c\x01x\x93.'));
    expect(reading.globals.map((global) => global.protocol)).toEqual([0, 2, 4]);
  });

  it('records frames that CPython reads differently from a file and from bytes, and reads on as C does', () => {
    const length = (n: number) => {
      const field = Buffer.alloc(8);
      field.writeBigUInt64LE(BigInt(n));
      return field;
    };
    const body = bytes(shortUnicode('torch'), shortUnicode('Size'), [0x93, 0x29, 0x52, 0x2e]);
    // Well framed: one frame holding the whole pickle, or two frames split between opcodes.
    expect(readPickles(bytes('\x80\x04\x95', length(body.length), body))).toMatchObject({ pickles: 1, error: null });
    expect(readPickles(bytes('\x80\x04\x95', length(7), body.subarray(0, 7), '\x95', length(body.length - 7), body.subarray(7)))).toMatchObject({ pickles: 1, error: null });
    // Opcodes read outside a frame, after it, are what picklers write for large payloads.
    expect(readPickles(bytes('\x80\x04\x95', length(7), body.subarray(0, 7), body.subarray(7)))).toMatchObject({ pickles: 1, error: null });
    const broken = {
      straddling: bytes('\x80\x04\x95', length(5), body),
      'new frame inside a frame': bytes('\x80\x04\x95', length(body.length + 9), '\x95', length(body.length - 9), body),
      'stop before the frame ends': bytes('\x80\x04\x95', length(body.length + 4), body, 'NNNN'),
      'frame past the end': bytes('\x80\x04\x95', length(body.length + 100), body),
    };
    expect(Object.fromEntries(Object.entries(broken).map(([name, pickle]) => [name, readPickles(pickle).frameAnomaly?.message]))).toEqual({
      straddling: 'an opcode runs past the end of its frame at byte 16',
      'new frame inside a frame': 'beginning of a new frame before end of current frame',
      'stop before the frame ends': 'the pickle stops 4 bytes before the end of its frame',
      'frame past the end': `the frame declares ${body.length + 100} bytes, more than the input holds`,
    });
    // Past the inconsistency every import is still found, as C's unpickler, which ignores frame bounds, would import it.
    for (const pickle of Object.values(broken)) expect(readPickles(pickle).globals.map((global) => `${global.module}.${global.name}`)).toEqual(['torch.Size']);
    expect(readPickles(bytes('\x80\x04\x95', length(body.length), body)).frameAnomaly).toBeNull();
  });

  it('names the storage keys of persistent ids, as torch.save writes them', () => {
    const persistentId = (key: string) => bytes('(', shortUnicode('storage'), 'ctorch\nFloatStorage\n', shortUnicode(key), shortUnicode('cpu'), 'K\x04tQ');
    expect(readPickles(bytes('\x80\x02]', persistentId('0'), 'a', persistentId('7'), 'a.')).storageKeys).toEqual(['0', '7']);
  });

  it('tells pickles from other bytes that begin with opcode-like bytes', () => {
    expect(readsAsPickle(readPickles(bytes('\x80\x02N.')))).toBe(true);
    expect(readsAsPickle(readPickles(bytes("cos\nsystem\n(S'ls'\ntR.")))).toBe(true);
    // A label file whose first line starts with "c" reads one "import", then breaks.
    expect(readsAsPickle(readPickles(bytes('cat\ndog\nbird\nant\n')))).toBe(false);
    expect(readsAsPickle(readPickles(bytes([0x80, 0x03, 0x00, 0x3f, 0x12, 0x99])))).toBe(false);
  });

  it('reads a stream through windows, stepping over payloads it never loads', async () => {
    // A 3 MiB BINBYTES payload, then an import: the reader must find the import without holding the payload.
    const payload = 3 * 1024 * 1024;
    const stream = bytes('\x80\x03B', [payload & 0xff, (payload >> 8) & 0xff, (payload >> 16) & 0xff, 0], Buffer.alloc(payload, 0x63), '0cos\nsystem\n.');
    const reads: number[] = [];
    const source = bufferSource(stream);
    const counted = { size: source.size, read: (offset: number, length: number) => (reads.push(length), source.read(offset, length)) };
    const { reading, tooLarge } = await readPickleSource(counted, { maxBytes: 64 * 1024 * 1024 });
    expect({ tooLarge, globals: reading.globals.map((global) => `${global.module}.${global.name}`), error: reading.error }).toEqual({
      tooLarge: false,
      globals: ['os.system'],
      error: null,
    });
    expect(reads.reduce((sum, length) => sum + length, 0)).toBeLessThan(payload);
    // What is bounded is reading: 3 MiB of opcodes take more than a MiB of reads.
    expect((await readPickleSource(bufferSource(stream), { maxBytes: 2 * 1024 * 1024 })).tooLarge).toBe(false);
    expect((await readPickleSource(bufferSource(bytes('N0'.repeat(1536 * 1024), 'N.')), { maxBytes: 2 * 1024 * 1024 })).tooLarge).toBe(true);
  });

  it('reads on wherever CPython reads on: a last line without its newline, memo indices as int() parses them', () => {
    // At the end of a file, readline() gives what is left and [:-1] drops its last byte: INST imports os.system and calls it.
    expect(imports(bytes("(S'x'\nios\nsystemX"))).toEqual(['INST:os.system']);
    expect(imports(bytes("Np+0\n0cos\nsystem\n(S'x'\ntR."))).toEqual(['GLOBAL:os.system']);
    expect(readPickles(bytes('N\x70 1_0 \n0g10\n.'))).toMatchObject({ pickles: 1, error: null });
    expect(readPickles(bytes('Np-1\n.')).error?.message).toBe('negative PUT argument');
  });

  it('steps over numeric and long text lines without holding them, however long', async () => {
    const long = Buffer.alloc(3 * 1024 * 1024, 0x31);
    const stream = bytes('I', long, '\n0F', long, "\n0S'", long, "'\n0cos\nsystem\n.");
    const { reading, tooLarge } = await readPickleSource(bufferSource(stream), { maxBytes: 64 * 1024 * 1024 });
    expect({ tooLarge, error: reading.error, globals: reading.globals.map((global) => `${global.module}.${global.name}`) }).toEqual({
      tooLarge: false,
      error: null,
      globals: ['os.system'],
    });
    // A memo index on a line longer than the reader reads is where it gives up while CPython may not: a limit, not a break.
    const index = await readPickleSource(bufferSource(bytes('Ng', Buffer.alloc(3 * 1024 * 1024, 0x20), '0\n.')), { maxBytes: 64 * 1024 * 1024 });
    expect(index.reading.error?.kind).toBe('limit');
  });

  it('decodes runs of backslashes in one pass', () => {
    const run = '\\'.repeat(400_000);
    expect(readPickles(bytes('V', run, 'u0073\n.')).error).toBeNull();
    expect(readPickles(bytes("S'", run, "'\n.")).error).toBeNull();
    expect(readPickles(bytes('V\\u00\n.')).error?.message).toBe('truncated \\u escape in a UNICODE argument');
  });
});
