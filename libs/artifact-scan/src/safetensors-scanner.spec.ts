import { bufferSource, sliceSource, type ByteSource } from './byte-source';
import { SAFETENSORS_MAX_FINDINGS, scanSafetensors } from './safetensors-scanner';
import { BF16_BITS, F16_BITS, brokenSafetensors, f32, f64, halfBits, headerLength, packTensors, safetensorsFile, validSafetensors } from '../../../test/fixtures/safetensors-files';

const FILE = 'weights/model.safetensors';
const scan = (bytes: Uint8Array, chunkBytes?: number) => scanSafetensors(bufferSource(bytes), FILE, undefined, { chunkBytes });
const rules = async (bytes: Uint8Array) => (await scan(bytes)).map((finding) => `${finding.severity} ${finding.rule} @ ${finding.location}`);
const tensor = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] as [number, number] });

/** Records every read, to show big tensors are read in bounded chunks. */
function recordingSource(bytes: Uint8Array): { source: ByteSource; reads: number[] } {
  const inner = bufferSource(bytes);
  const reads: number[] = [];
  return {
    reads,
    source: {
      size: inner.size,
      read(offset, length) {
        reads.push(length);
        return inner.read(offset, length);
      },
    },
  };
}

describe('scanSafetensors', () => {
  it('finds nothing in a valid file, with metadata, F32 and F16 tensors', async () => {
    expect(await scan(validSafetensors())).toEqual([]);
  });

  it('accepts a header with no tensors and an empty data buffer, and zero-element tensors', async () => {
    expect(await scan(safetensorsFile({}))).toEqual([]);
    expect(await scan(safetensorsFile({ empty: tensor('F32', [0, 3], 0, 0), w: tensor('U8', [2], 0, 2) }, Buffer.from([1, 2])))).toEqual([]);
  });

  it.each([
    { name: 'a file shorter than the length field', bytes: Buffer.from([1, 2, 3, 4, 5]), rule: 'safetensors_truncated', location: 'header length (bytes 0-7)' },
    { name: 'a header longer than 100,000,000 bytes', bytes: brokenSafetensors.headerTooLong(), rule: 'safetensors_header_too_large', location: 'header length (bytes 0-7)' },
    {
      name: 'a header length of 2^64 - 1',
      bytes: Buffer.concat([headerLength(2n ** 64n - 1n), Buffer.from('{}')]),
      rule: 'safetensors_header_too_large',
      location: 'header length (bytes 0-7)',
    },
    {
      name: 'a header running past the end of the file',
      bytes: brokenSafetensors.headerPastEof(),
      rule: 'safetensors_header_out_of_bounds',
      location: 'header length (bytes 0-7)',
    },
    { name: 'a header that is not UTF-8', bytes: brokenSafetensors.invalidUtf8(), rule: 'safetensors_header_not_utf8', location: 'header byte 10' },
    {
      name: 'a UTF-8 surrogate in the header',
      bytes: safetensorsFile(Buffer.from([0x7b, 0x7d, 0x20, 0xed, 0xa0, 0x80])),
      rule: 'safetensors_header_not_utf8',
      location: 'header byte 11',
    },
    { name: 'an overlong encoding in the header', bytes: safetensorsFile(Buffer.from([0x7b, 0xc0, 0xaf, 0x7d])), rule: 'safetensors_header_not_utf8', location: 'header byte 9' },
    {
      name: 'a code point above U+10FFFF in the header',
      bytes: safetensorsFile(Buffer.from([0x7b, 0x7d, 0xf4, 0x90, 0x80, 0x80])),
      rule: 'safetensors_header_not_utf8',
      location: 'header byte 10',
    },
    {
      name: 'a header cut inside a multi-byte character',
      bytes: safetensorsFile(Buffer.from([0x7b, 0x7d, 0xe2, 0x82])),
      rule: 'safetensors_header_not_utf8',
      location: 'header byte 10',
    },
    { name: 'a trailing comma', bytes: safetensorsFile('{"__metadata__":{"a":"b"},}'), rule: 'safetensors_header_invalid_json', location: 'header byte 34' },
    { name: 'a byte-order mark before the JSON', bytes: safetensorsFile('\ufeff{}'), rule: 'safetensors_header_invalid_json', location: 'header byte 8' },
    { name: 'a lone surrogate escape', bytes: safetensorsFile('{"\\ud800":{}}'), rule: 'safetensors_header_invalid_json', location: 'header byte 10' },
    { name: 'an unterminated string', bytes: safetensorsFile('{"w'), rule: 'safetensors_header_invalid_json', location: 'header byte 11' },
    {
      name: 'nesting past serde_json’s limit',
      bytes: safetensorsFile(`{"__metadata__":${'['.repeat(200)}`),
      rule: 'safetensors_header_invalid_json',
      location: `header byte ${8 + 16 + 126}`,
    },
    { name: 'a JSON array header', bytes: safetensorsFile('[]'), rule: 'safetensors_header_invalid_json', location: 'header' },
  ])('reports $name and stops', async ({ bytes, rule, location }) => {
    const findings = await scan(bytes);
    expect(findings).toEqual([{ severity: 'HIGH', rule, file: FILE, location, why: expect.any(String) }]);
  });

  it.each([
    { name: 'a repeated tensor name', bytes: brokenSafetensors.duplicateKey(), location: 'header key /w at byte 62' },
    {
      name: 'a repeated key inside a tensor entry',
      bytes: safetensorsFile('{"w":{"dtype":"I32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)),
      location: 'header key /w/dtype at byte 28',
    },
    {
      name: 'a repeated non-ASCII name, located in bytes',
      bytes: safetensorsFile('{"é":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"é":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Buffer.from([7])),
      location: 'header key /é at byte 62',
    },
    {
      name: 'a repeated metadata key whose name needs pointer escaping',
      bytes: safetensorsFile('{"__metadata__":{"a/b~":"1","a/b~":"2"}}'),
      location: 'header key /__metadata__/a~1b~0 at byte 36',
    },
  ])('reports $name as a duplicate key at the second occurrence', async ({ bytes, location }) => {
    expect(await rules(bytes)).toEqual([`HIGH safetensors_duplicate_key @ ${location}`]);
  });

  it.each([
    { name: 'a non-string metadata value', bytes: brokenSafetensors.nonStringMetadata(), found: ['HIGH safetensors_bad_metadata @ header key /__metadata__/epoch'] },
    {
      name: 'metadata that is not an object',
      bytes: safetensorsFile({ __metadata__: ['pt'] as unknown as Record<string, unknown> }),
      found: ['HIGH safetensors_bad_metadata @ header key /__metadata__'],
    },
    { name: 'an unknown dtype', bytes: brokenSafetensors.unknownDtype(), found: ['HIGH safetensors_unknown_dtype @ header key /w/dtype'] },
    {
      name: 'a dtype named like an Object.prototype member',
      bytes: safetensorsFile({ w: tensor('constructor', [1], 0, 1) }, Buffer.from([0])),
      found: ['HIGH safetensors_unknown_dtype @ header key /w/dtype'],
    },
    { name: 'a tensor entry that is not an object', bytes: safetensorsFile('{"w":[1,2]}'), found: ['HIGH safetensors_bad_tensor_entry @ header key /w'] },
    { name: 'a tensor entry lacking keys', bytes: safetensorsFile({ w: { dtype: 'U8' } }), found: ['HIGH safetensors_bad_tensor_entry @ header key /w'] },
    {
      name: 'an extra key in a tensor entry',
      bytes: safetensorsFile({ w: { ...tensor('U8', [1], 0, 1), note: 'x' } }, Buffer.from([0])),
      found: ['HIGH safetensors_bad_tensor_entry @ header key /w/note'],
    },
    {
      name: 'a negative, a fractional and an exponent dimension',
      bytes: safetensorsFile(
        '{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1.0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[1e0],"data_offsets":[0,0]}}',
      ),
      found: [
        'HIGH safetensors_bad_tensor_entry @ header key /a/shape',
        'HIGH safetensors_bad_tensor_entry @ header key /b/shape',
        'HIGH safetensors_bad_tensor_entry @ header key /c/shape',
      ],
    },
    {
      name: 'data_offsets with begin after end, and with three numbers',
      bytes: safetensorsFile('{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]},"b":{"dtype":"U8","shape":[0],"data_offsets":[0,0,0]}}'),
      found: ['HIGH safetensors_bad_tensor_entry @ header key /a/data_offsets', 'HIGH safetensors_bad_tensor_entry @ header key /b/data_offsets'],
    },
    { name: 'a gap between tensors', bytes: brokenSafetensors.gap(), found: ['HIGH safetensors_offsets_gap @ data buffer bytes [4, 8)'] },
    {
      name: 'a first tensor that does not start at 0',
      bytes: safetensorsFile({ w: tensor('U8', [2], 2, 4) }, Buffer.from([0, 0, 1, 2])),
      found: ['HIGH safetensors_offsets_gap @ data buffer bytes [0, 2)'],
    },
    { name: 'overlapping tensors', bytes: brokenSafetensors.overlap(), found: ['HIGH safetensors_offsets_overlap @ tensor "b"'] },
    { name: 'a byte count that disagrees with dtype and shape', bytes: brokenSafetensors.wrongSize(), found: ['HIGH safetensors_tensor_size_mismatch @ tensor "w"'] },
    {
      name: 'a 4-bit tensor of an odd element count',
      bytes: safetensorsFile({ w: tensor('F4', [3], 0, 2) }, Buffer.from([0, 0])),
      found: ['HIGH safetensors_tensor_size_mismatch @ tensor "w"'],
    },
    {
      name: 'a shape whose product overflows a double',
      bytes: safetensorsFile({ w: tensor('U8', [2 ** 52, 2 ** 52], 0, 1) }, Buffer.from([0])),
      found: ['HIGH safetensors_tensor_size_mismatch @ tensor "w"'],
    },
    { name: 'bytes after the last tensor', bytes: brokenSafetensors.trailingBytes(), found: ['HIGH safetensors_trailing_bytes @ data buffer bytes [4, 8)'] },
    { name: 'a data buffer with no tensors', bytes: safetensorsFile({}, Buffer.from([1, 2, 3])), found: ['HIGH safetensors_trailing_bytes @ data buffer bytes [0, 3)'] },
    {
      name: 'a last tensor running past the end of the file',
      bytes: safetensorsFile({ w: tensor('F32', [4], 0, 16) }, f32(NaN, 2)),
      found: ['HIGH safetensors_missing_bytes @ data buffer bytes [8, 16)'],
    },
  ])('reports $name', async ({ bytes, found }) => {
    expect(await rules(bytes)).toEqual(found);
  });

  it('explains a gap, an overlap, a wrong size and trailing bytes in file terms', async () => {
    const [gap] = await scan(brokenSafetensors.gap());
    const headerEnd = 8 + brokenSafetensors.gap().readUInt32LE(0);
    expect(gap.why).toContain(`no tensor covers these 4 bytes (file bytes [${headerEnd + 4}, ${headerEnd + 8})), between tensor "a" and tensor "b"`);
    expect((await scan(brokenSafetensors.overlap()))[0].why).toContain('data_offsets [4, 12] overlap tensor "a" [0, 8]');
    expect((await scan(brokenSafetensors.wrongSize()))[0].why).toContain('F32 [2,2] needs 16 bytes but data_offsets [0, 12] span 12');
    expect((await scan(brokenSafetensors.trailingBytes()))[0].why).toContain('4 bytes');
  });

  it('reports every problem in one file, not only the first', async () => {
    const bytes = safetensorsFile({ __metadata__: { epoch: 1 }, a: tensor('F32', [1], 0, 4), b: tensor('Q4', [1], 8, 9), c: tensor('F32', [1], 12, 20) }, Buffer.alloc(24));
    expect(await rules(bytes)).toEqual([
      'HIGH safetensors_bad_metadata @ header key /__metadata__/epoch',
      'HIGH safetensors_unknown_dtype @ header key /b/dtype',
      'HIGH safetensors_tensor_size_mismatch @ tensor "c"',
      'HIGH safetensors_offsets_gap @ data buffer bytes [4, 8)',
      'HIGH safetensors_offsets_gap @ data buffer bytes [9, 12)',
      'HIGH safetensors_trailing_bytes @ data buffer bytes [20, 24)',
    ]);
  });

  it(`lists at most ${SAFETENSORS_MAX_FINDINGS} findings and counts the rest`, async () => {
    const entries = Array.from({ length: SAFETENSORS_MAX_FINDINGS + 5 }, (_, index) => `"t${index}":1`).join(',');
    const findings = await scanSafetensors(bufferSource(safetensorsFile(`{${entries}}`)), FILE, 'outer.zip');
    expect(findings).toHaveLength(SAFETENSORS_MAX_FINDINGS + 1);
    expect(findings[SAFETENSORS_MAX_FINDINGS - 1].location).toBe(`outer.zip › header key /t${SAFETENSORS_MAX_FINDINGS - 1}`);
    expect(findings[SAFETENSORS_MAX_FINDINGS]).toEqual({
      severity: 'HIGH',
      rule: 'safetensors_findings_truncated',
      file: FILE,
      location: 'outer.zip › header',
      why: `5 more findings after the first ${SAFETENSORS_MAX_FINDINGS} are not listed`,
    });
  });

  it('prefixes locations with where the file sits, and reads it through a slice of a larger source', async () => {
    const file = brokenSafetensors.nonFinite();
    const outer = Buffer.concat([Buffer.from('zip!'), file, Buffer.from('tail')]);
    const findings = await scanSafetensors(sliceSource(bufferSource(outer), 4, file.length), FILE, 'archive/model.safetensors');
    expect(findings).toEqual([
      {
        severity: 'MEDIUM',
        rule: 'safetensors_non_finite',
        file: FILE,
        location: 'archive/model.safetensors › tensor "w"',
        why: expect.stringContaining('w (F32): 1 NaN, 1 Inf, first at index 1'),
      },
    ]);
  });

  describe('NaN and Inf', () => {
    it.each([
      { name: 'F32', dtype: 'F32', bytes: f32(1, -2, Infinity, NaN, -Infinity, 0), counts: '1 NaN, 2 Inf, first at index 2' },
      { name: 'F32 with a negative signalling NaN', dtype: 'F32', bytes: Buffer.from([0, 0, 0x80, 0x3f, 1, 0, 0x80, 0xff]), counts: '1 NaN, first at index 1' },
      {
        name: 'F16',
        dtype: 'F16',
        bytes: halfBits(F16_BITS.one, F16_BITS.two, F16_BITS.nan, F16_BITS.inf, F16_BITS.negativeInf, 0x7bff),
        counts: '1 NaN, 2 Inf, first at index 2',
      },
      { name: 'BF16', dtype: 'BF16', bytes: halfBits(BF16_BITS.one, BF16_BITS.inf, BF16_BITS.one, BF16_BITS.nan), counts: '1 NaN, 1 Inf, first at index 1' },
      {
        name: 'F64 with a NaN whose payload sits in the low word',
        dtype: 'F64',
        bytes: Buffer.concat([f64(1, 2), Buffer.from([1, 0, 0, 0, 0, 0, 0xf0, 0x7f])]),
        counts: '1 NaN, first at index 2',
      },
      { name: 'F64', dtype: 'F64', bytes: f64(Infinity, 1e308, NaN), counts: '1 NaN, 1 Inf, first at index 0' },
    ])('counts them in $name with the first flat index', async ({ dtype, bytes, counts }) => {
      const size = { F32: 4, F16: 2, BF16: 2, F64: 8 }[dtype]!;
      const { header, data } = packTensors([
        { name: 'ok', dtype, shape: [1], bytes: Buffer.alloc(size) },
        { name: 'w', dtype, shape: [bytes.length / size], bytes },
      ]);
      const findings = await scan(safetensorsFile(header, data));
      expect(findings).toEqual([
        { severity: 'MEDIUM', rule: 'safetensors_non_finite', file: FILE, location: 'tensor "w"', why: expect.stringContaining(`w (${dtype}): ${counts}`) },
      ]);
    });

    it('ignores integer tensors and finite extremes', async () => {
      const { header, data } = packTensors([
        { name: 'ints', dtype: 'I32', shape: [2], bytes: Buffer.from([0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0x7f]) },
        { name: 'max', dtype: 'F32', shape: [3], bytes: f32(3.4028234663852886e38, -3.4028234663852886e38, 1e-45) },
        { name: 'halfmax', dtype: 'F16', shape: [1], bytes: halfBits(0xfbff) },
      ]);
      expect(await scan(safetensorsFile(header, data))).toEqual([]);
    });

    it('skips tensors whose range is invalid', async () => {
      const bytes = safetensorsFile({ w: tensor('F32', [2], 0, 12) }, f32(NaN, NaN, NaN));
      expect(await rules(bytes)).toEqual(['HIGH safetensors_tensor_size_mismatch @ tensor "w"']);
    });

    it.each([
      { name: 'a chunk of three F32 elements', dtype: 'F32', chunkBytes: 12 },
      { name: 'a chunk size that is not a whole number of elements', dtype: 'F32', chunkBytes: 10 },
      { name: 'a chunk smaller than one element', dtype: 'F64', chunkBytes: 3 },
      { name: 'a chunk of one F16 element', dtype: 'F16', chunkBytes: 2 },
    ])('counts across chunk boundaries with $name', async ({ dtype, chunkBytes }) => {
      // NaN at 3 and 7, Inf at 8: the first element of a chunk, the last of one, and the next.
      const values = [1, 2, 3, NaN, 5, 6, 7, NaN, Infinity, 10, 11];
      const bytes =
        dtype === 'F32'
          ? f32(...values)
          : dtype === 'F64'
            ? f64(...values)
            : halfBits(...values.map((value) => (Number.isNaN(value) ? F16_BITS.nan : value === Infinity ? F16_BITS.inf : F16_BITS.one)));
      const { header, data } = packTensors([
        { name: 'pad', dtype: 'U8', shape: [3], bytes: Buffer.from([0, 0, 0]) },
        { name: 'w', dtype, shape: [values.length], bytes },
      ]);
      const findings = await scan(safetensorsFile(header, data), chunkBytes);
      expect(findings.map((finding) => finding.why)).toEqual([expect.stringContaining(`w (${dtype}): 2 NaN, 1 Inf, first at index 3`)]);
    });

    it('reads a tensor larger than the default 4 MiB chunk in several reads, none larger than the chunk', async () => {
      const elements = 1_300_000;
      const values = new Float32Array(elements).fill(0.5);
      values[1_048_576] = NaN; // the first element of the second chunk
      values[elements - 1] = -Infinity;
      const { header, data } = packTensors([{ name: 'big', dtype: 'F32', shape: [1300, 1000], bytes: Buffer.from(values.buffer) }]);
      const { source, reads } = recordingSource(safetensorsFile(header, data));
      const findings = await scanSafetensors(source, FILE);
      expect(findings.map((finding) => finding.why)).toEqual([expect.stringContaining('big (F32): 1 NaN, 1 Inf, first at index 1048576')]);
      const tensorReads = reads.slice(2);
      expect(tensorReads).toEqual([4 * 1024 * 1024, elements * 4 - 4 * 1024 * 1024]);
    });
  });
});
