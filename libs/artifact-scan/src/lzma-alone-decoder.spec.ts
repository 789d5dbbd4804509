import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { KNOWN_SIZE_LZMA, KNOWN_SIZE_LZMA_CONTENT } from '../../../test/fixtures/packed-files';
import { decodeLzmaAlone, LzmaDataError } from './lzma-alone-decoder';

const LIMITS = { maxDictionary: 1 << 26, chunkBytes: 4096 };

function decode(stream: Uint8Array, start = 0): { output: Buffer; end: number } {
  const chunks: Buffer[] = [];
  const end = decodeLzmaAlone(stream, start, { ...LIMITS, emit: (chunk) => chunks.push(Buffer.from(chunk)) });
  return { output: Buffer.concat(chunks), end };
}

/** CPython's lzma, FORMAT_ALONE, with the given LZMA1 options. */
function compress(data: Uint8Array, options: { lc: number; lp: number; pb: number; preset: number }): Buffer {
  const filters = `[{"id": lzma.FILTER_LZMA1, "preset": ${options.preset}, "lc": ${options.lc}, "lp": ${options.lp}, "pb": ${options.pb}}]`;
  return execFileSync('python3', ['-c', `import lzma, sys; sys.stdout.buffer.write(lzma.compress(sys.stdin.buffer.read(), format=lzma.FORMAT_ALONE, filters=${filters}))`], {
    input: data,
    maxBuffer: 1 << 28,
  });
}

describe('decodeLzmaAlone', () => {
  const data = Buffer.concat([randomBytes(40_000), Buffer.alloc(70_000, 0x2e), Buffer.from('abcabcabd'.repeat(5000)), randomBytes(3)]);

  it.each([
    { lc: 3, lp: 0, pb: 2, preset: 6 },
    { lc: 0, lp: 4, pb: 4, preset: 1 },
    { lc: 4, lp: 0, pb: 0, preset: 9 },
    { lc: 1, lp: 2, pb: 3, preset: 0 },
  ])('decodes what CPython writes with %o, ending where the stream ends', (options) => {
    const stream = compress(data, options);
    const { output, end } = decode(stream);
    expect(output.equals(data)).toBe(true);
    expect(end).toBe(stream.length);
  });

  it('decodes a stream of declared size without an end marker, and one that starts further in', () => {
    expect(decode(KNOWN_SIZE_LZMA).output).toEqual(KNOWN_SIZE_LZMA_CONTENT);
    const { output, end } = decode(Buffer.concat([Buffer.from('prefix'), KNOWN_SIZE_LZMA]), 6);
    expect([output, end]).toEqual([KNOWN_SIZE_LZMA_CONTENT, 6 + KNOWN_SIZE_LZMA.length]);
  });

  it('refuses a stream that runs past its declared size or ends early', () => {
    const shorter = Buffer.from(KNOWN_SIZE_LZMA);
    shorter.writeUInt32LE(KNOWN_SIZE_LZMA_CONTENT.length - 10, 5);
    expect(() => decode(shorter)).toThrow(LzmaDataError);
    expect(() => decode(KNOWN_SIZE_LZMA.subarray(0, KNOWN_SIZE_LZMA.length - 4))).toThrow(/ends inside the stream/);
  });

  it('stops as soon as its consumer throws, with the output handed out so far', () => {
    const stream = compress(Buffer.alloc(1 << 20), { lc: 3, lp: 0, pb: 2, preset: 6 });
    let handed = 0;
    const emit = (chunk: Buffer) => {
      handed += chunk.length;
      if (handed >= 8192) throw new RangeError('enough');
    };
    expect(() => decodeLzmaAlone(stream, 0, { ...LIMITS, emit })).toThrow('enough');
    expect(handed).toBe(8192);
  });
});
