import { bufferSource } from './byte-source';
import { NpyFormatError, readNpyHeader } from './numpy-format';
import { npyBytes, npyHeader } from '../../../test/fixtures/numpy-files';

const read = (bytes: Uint8Array) => readNpyHeader(bufferSource(bytes));

describe('readNpyHeader', () => {
  it('reads a version 1.0 float32 header: dtype, shape, order and a 64-aligned data offset after the 118-byte header', async () => {
    const bytes = npyBytes(npyHeader("'<f4'"), { data: Buffer.alloc(48) });
    expect(await read(bytes)).toEqual({ descr: '<f4', fortranOrder: false, shape: [3, 4], dataOffset: 128, holdsObjects: false });
  });

  it.each([
    { name: 'a scalar', text: npyHeader("'<f8'", '()'), expected: { shape: [], fortranOrder: false } },
    { name: 'a one-element tuple shape', text: npyHeader("'<i8'", '(5,)'), expected: { shape: [5] } },
    { name: 'Fortran order', text: npyHeader("'<f4'", '(2, 3)', 'True'), expected: { fortranOrder: true } },
    { name: 'double quotes and escapes', text: `{"descr": "<f\\x34", "fortran_order": False, "shape": (2,)}`, expected: { descr: '<f4', shape: [2] } },
    { name: 'Python 2 longs in a 1.0 header', text: npyHeader("'<f4'", '(3L, 4L)'), expected: { shape: [3, 4] } },
    { name: 'a u-prefixed string', text: npyHeader("u'<f4'"), expected: { descr: '<f4' } },
    { name: 'keys in another order', text: "{'shape': (1,), 'fortran_order': False, 'descr': '|b1'}", expected: { descr: '|b1', shape: [1] } },
  ])('reads $name', async ({ text, expected }) => {
    expect(await read(npyBytes(text))).toMatchObject(expected);
  });

  it('reads a version 2.0 header with a 4-byte length', async () => {
    const fields = Array.from({ length: 5000 }, (_, index) => `('f${index}', '<f4')`).join(', ');
    const bytes = npyBytes(npyHeader(`[${fields}]`, '(2,)'), { version: [2, 0] });
    const result = await read(bytes);
    expect(bytes.readUInt32LE(8)).toBeGreaterThan(65535);
    expect(result.dataOffset).toBe(bytes.length);
    expect(result.dataOffset % 64).toBe(0);
    expect(result.holdsObjects).toBe(false);
    expect((result.descr as unknown[]).length).toBe(5000);
    expect((result.descr as unknown[])[4999]).toEqual(['f4999', '<f4']);
  });

  it('reads a version 3.0 header as UTF-8', async () => {
    const result = await read(npyBytes(npyHeader("[('température', '<f4'), ('π', '|O')]", '(2,)'), { version: [3, 0] }));
    expect(result).toMatchObject({
      descr: [
        ['température', '<f4'],
        ['π', '|O'],
      ],
      holdsObjects: true,
    });
  });

  it.each([
    { name: "'|O'", descr: "'|O'", holdsObjects: true },
    { name: "bare 'O'", descr: "'O'", holdsObjects: true },
    { name: "'<O8', with byte order and item size", descr: "'<O8'", holdsObjects: true },
    { name: "the name 'object'", descr: "'object'", holdsObjects: true },
    { name: 'a comma-separated type string with an object part', descr: "'<i4, O'", holdsObjects: true },
    { name: 'a subarray type string of objects', descr: "'(2,3)O'", holdsObjects: true },
    { name: "the repeat form '2O'", descr: "'2O'", holdsObjects: true },
    { name: "'|(2,)O'", descr: "'|(2,)O'", holdsObjects: true },
    { name: "'i4,2O'", descr: "'i4,2O'", holdsObjects: true },
    { name: "'>2object'", descr: "'>2object'", holdsObjects: true },
    { name: "a field of '2O'", descr: "[('a', '2O')]", holdsObjects: true },
    { name: 'an object subarray tuple', descr: "('|O', (2,))", holdsObjects: true },
    { name: 'a structured dtype with an object field', descr: "[('a', '<i4'), ('b', '|O')]", holdsObjects: true },
    { name: 'a structured dtype with a nested object field', descr: "[('a', '<i4'), ('inner', [('x', '<f8'), ('deeper', [('obj', '|O', (2,))])])]", holdsObjects: true },
    { name: 'a titled object field', descr: "[(('A title', 'a'), '|O')]", holdsObjects: true },
    { name: 'a structured dtype of numbers, with a subarray and padding', descr: "[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2, 2))]", holdsObjects: false },
    { name: 'a unicode string dtype', descr: "'<U10'", holdsObjects: false },
    { name: "a float field named 'O'", descr: "[('O', '<f4'), ('object', '<i8')]", holdsObjects: false },
    { name: 'a datetime', descr: "'<M8[ns]'", holdsObjects: false },
  ])('says whether $name holds objects', async ({ descr, holdsObjects }) => {
    expect((await read(npyBytes(npyHeader(descr, '(2,)')))).holdsObjects).toBe(holdsObjects);
  });

  it.each([
    { name: 'a file shorter than the preamble', bytes: Buffer.from('\x93NUMPY\x01', 'latin1'), reason: 'shorter than the 10-byte preamble' },
    { name: 'bad magic', bytes: Buffer.concat([Buffer.from('\x93NUMPZ'), npyBytes(npyHeader("'<f4'")).subarray(6)]), reason: 'magic' },
    { name: 'an unknown version', bytes: npyBytes(npyHeader("'<f4'"), { version: [4, 0] }), reason: 'format version 4.0' },
    { name: 'a minor version other than 0', bytes: npyBytes(npyHeader("'<f4'"), { version: [1, 1] }), reason: 'format version 1.1' },
    { name: 'a 2.0 file cut inside the length field', bytes: Buffer.from('\x93NUMPY\x02\x00\x10\x00', 'latin1'), reason: 'shorter than the 12-byte preamble' },
    {
      name: 'a header past the end of the file',
      bytes: npyBytes(npyHeader("'<f4'"), { declaredLength: 200 }),
      reason: 'the header claims 200 bytes but only 118 follow the preamble',
    },
    { name: 'a huge declared header', bytes: npyBytes(npyHeader("'<f4'"), { version: [2, 0], declaredLength: 0xffffffff }), reason: 'more than' },
    {
      name: 'an unterminated string',
      bytes: npyBytes(`{'descr': "<f4', 'fortran_order': False, 'shape': (3,)}`, { pad: false }),
      reason: 'header character 10: unterminated string',
    },
    { name: 'a string broken by the padding newline', bytes: npyBytes("{'descr': '<f4"), reason: 'header character 10: unterminated string' },
    { name: 'a function call', bytes: npyBytes(npyHeader("__import__('os').system('id')")), reason: 'header character 10: unsupported literal starting "__import__(\'"' },
    { name: 'a float in the shape', bytes: npyBytes(npyHeader("'<f4'", '(1.5,)')), reason: 'unsupported literal' },
    { name: 'trailing text after the dict', bytes: npyBytes(`${npyHeader("'<f4'")} + 1`), reason: 'after the header dict' },
    { name: 'a header that is not a dict', bytes: npyBytes("('<f4', False, (3,))"), reason: 'the header is a tuple, not a dict' },
    { name: 'a missing key', bytes: npyBytes("{'descr': '<f4', 'shape': (3,)}"), reason: "the header's keys are 'descr', 'shape'" },
    { name: 'an extra key', bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}"), reason: 'not exactly' },
    { name: 'a repeated key', bytes: npyBytes("{'descr': '|O', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"), reason: "header character 16: repeated dict key 'descr'" },
    { name: 'a non-string key', bytes: npyBytes("{1: '<f4'}"), reason: 'a dict key is the int 1, not a string' },
    { name: 'fortran_order that is not a bool', bytes: npyBytes(npyHeader("'<f4'", '(3,)', '0')), reason: 'fortran_order is the int 0' },
    { name: 'a list shape', bytes: npyBytes(npyHeader("'<f4'", '[3]')), reason: 'shape is not a tuple' },
    { name: 'a negative dimension', bytes: npyBytes(npyHeader("'<f4'", '(-3,)')), reason: 'shape is not a tuple of non-negative ints' },
    { name: 'a bool dimension', bytes: npyBytes(npyHeader("'<f4'", '(True,)')), reason: 'shape is not a tuple' },
    { name: 'a dict descr', bytes: npyBytes(npyHeader("{'names': ['a'], 'formats': ['O']}")), reason: 'descr is a dict' },
    { name: 'a field given as a string, which numpy would unpack', bytes: npyBytes(npyHeader("['aO']")), reason: 'not a (name, type) or (name, type, shape) tuple' },
    { name: 'a field with a non-string name', bytes: npyBytes(npyHeader("[(1, '<f4')]")), reason: 'field name' },
    { name: 'a subarray tuple without a shape', bytes: npyBytes(npyHeader("('<f4', 'x')")), reason: 'not (type, shape)' },
    { name: 'an invalid escape', bytes: npyBytes(npyHeader("'<f\\q'")), reason: 'unsupported escape \\q' },
    { name: 'a Python 2 long in a 3.0 header', bytes: npyBytes(npyHeader("'<f4'", '(3L,)'), { version: [3, 0] }), reason: 'unsupported literal' },
    {
      name: 'a 3.0 header that is not UTF-8',
      bytes: npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} \xff`, { version: [2, 0] }).fill(3, 6, 7),
      reason: 'not valid UTF-8',
    },
    { name: 'brackets nested past the limit', bytes: npyBytes(npyHeader(`${'['.repeat(150)}${']'.repeat(150)}`)), reason: 'nested deeper than 100 levels' },
  ])('refuses $name', async ({ bytes, reason }) => {
    const error = await read(bytes).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(NpyFormatError);
    expect((error as Error).message).toContain(reason);
  });
});
