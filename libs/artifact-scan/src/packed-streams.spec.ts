import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import {
  GIB,
  gzipBomb,
  KNOWN_SIZE_LZMA,
  KNOWN_SIZE_LZMA_CONTENT,
  gzipMembers,
  LZ4_CLI_FRAME,
  pythonBomb,
  pythonCompressed,
  pythonDecompressed,
  SEVEN_ZIP_SIGNATURE,
  ZSTD_CLI_CONTENT,
  ZSTD_CLI_FRAME,
  zstdBomb,
  zstdFrame,
  zlibStream,
} from '../../../test/fixtures/packed-files';
import { bufferSource, type ByteSource } from './byte-source';
import { InflateBudget, InflateBudgetError } from './inflate-budget';
import { PACKED_MAGIC_BYTES, PackedStreamError, sniffPacked, unpack, unpackRefusal, UnsupportedPackingError, type PackedKind } from './packed-streams';

const MIB = 1 << 20;
const text = (value: string) => Buffer.from(value, 'utf8');
const readAll = async (source: ByteSource) => source.read(0, source.size);
const sniff = (bytes: Uint8Array) => sniffPacked(bytes.subarray(0, PACKED_MAGIC_BYTES));
const unpacked = async (bytes: Uint8Array, kind: PackedKind, budget = new InflateBudget(64 * MIB)) => readAll(await unpack(bufferSource(bytes), kind, budget, 'model.bin'));
/** Length and digest: jest compares big buffers byte by byte, slowly. */
const fingerprint = (bytes: Uint8Array) => ({ length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
const pickleLike = Buffer.concat([text('\x80\x04\x95'), randomBytes(200_000), text('.')]);

describe('sniffPacked', () => {
  it('knows each kind by the stream its own compressor writes', () => {
    expect(sniff(gzipMembers(pickleLike))).toBe('gzip');
    expect(sniff(zlibStream(pickleLike))).toBe('zlib');
    expect(sniff(pythonCompressed('bz2', pickleLike))).toBe('bzip2');
    expect(sniff(pythonCompressed('bz2', Buffer.alloc(0)))).toBe('bzip2');
    expect(sniff(pythonCompressed('xz', pickleLike))).toBe('xz');
    expect(sniff(pythonCompressed('lzma-alone', pickleLike))).toBe('lzma-alone');
    expect(sniff(LZ4_CLI_FRAME)).toBe('lz4-frame');
    expect(sniff(ZSTD_CLI_FRAME)).toBe('zstd');
    expect(sniff(SEVEN_ZIP_SIGNATURE)).toBe('7z');
  });

  it('takes a zstd skippable frame for zstd, since zstd decoders step over it', () => {
    const skippable = Buffer.concat([Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]), text('skip'), ZSTD_CLI_FRAME]);
    expect(sniff(skippable)).toBe('zstd');
  });

  it('wants whole headers, not the loose prefixes joblib routes on, where the decoder would refuse the rest', () => {
    const xz = pythonCompressed('xz', pickleLike);
    const badFlagsCrc = Buffer.from(xz);
    badFlagsCrc[8] ^= 0xff;
    expect(sniff(badFlagsCrc)).toBeUndefined();
    expect(sniff(text('BZh9garbage...'))).toBeUndefined();
    expect(sniff(Buffer.concat([text('BZh0'), pythonCompressed('bz2', pickleLike).subarray(4)]))).toBeUndefined();
    expect(sniff(Buffer.from([0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    // 0x78 0x20: FCHECK holds but FDICT asks for a preset dictionary no loader has; 0x78 0x00 fails FCHECK.
    expect(sniff(Buffer.from([0x78, 0x20, 1, 2, 3]))).toBeUndefined();
    expect(sniff(Buffer.from([0x78, 0x00, 1, 2, 3]))).toBeUndefined();
    expect(sniff(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x00]))).toBeUndefined();
  });

  it('accepts exactly the lzma-alone headers that CPython lzma (FORMAT_AUTO, as joblib opens it) accepts, among those joblib opens (5d 00)', () => {
    const dictionaries = [0, 1, 3, 1 << 16, (1 << 16) + (1 << 15), (1 << 16) + 1, 0x00800000, 0xffffffff, 0x7ffffffe];
    const sizes = [0n, 1000n, (1n << 38n) - 1n, 1n << 38n, 0xffffffffffffffffn];
    const headers: Buffer[] = [];
    for (let properties = 0; properties < 256; properties += 1) {
      for (const dictionary of dictionaries) {
        for (const size of sizes) {
          for (const first of [0, 1]) {
            const header = Buffer.alloc(14);
            header[0] = properties;
            header.writeUInt32LE(dictionary >>> 0, 1);
            header.writeBigUInt64LE(size, 5);
            header[13] = first;
            headers.push(header);
          }
        }
      }
    }
    const script = [
      'import lzma, sys',
      'data = sys.stdin.buffer.read()',
      'verdicts = []',
      'for at in range(0, len(data), 14):',
      '    try:',
      '        lzma.LZMADecompressor(lzma.FORMAT_AUTO).decompress(data[at:at + 14])',
      '        verdicts.append("1")',
      '    except lzma.LZMAError:',
      '        verdicts.append("0")',
      'print("".join(verdicts))',
    ].join('\n');
    const python = execFileSync('python3', ['-c', script], { input: Buffer.concat(headers), encoding: 'utf8' }).trim();
    // FORMAT_AUTO also takes xz (0xfd) and, past liblzma 5.4, lzip; only the headers that open as no other kind are compared.
    const compared = headers
      .map((header, index) => ({ header, python: python[index] === '1' }))
      .filter(({ header }) => !['xz', 'gzip', 'zlib', 'zstd', 'lz4-frame', 'bzip2', '7z'].includes(sniff(header) ?? ''));
    // Zeros pass liblzma's test too, so only joblib's prefix is taken for lzma-alone: a zero-filled tensor file is data.
    const joblibPrefix = (header: Buffer) => header[0] === 0x5d && header[1] === 0x00;
    const disagreements = compared
      .filter(({ header, python: accepted }) => (sniff(header) === 'lzma-alone') !== (accepted && joblibPrefix(header)))
      .map(({ header }) => header.toString('hex'));
    expect(disagreements).toEqual([]);
    expect(compared.filter(({ header, python: accepted }) => accepted && joblibPrefix(header)).length).toBeGreaterThan(10);
    expect(sniff(Buffer.alloc(PACKED_MAGIC_BYTES))).toBeUndefined();
  });

  it("takes almost no random data for a stream: only a zlib header, at joblib's own rate", () => {
    const samples = 200_000;
    const random = randomBytes(samples * PACKED_MAGIC_BYTES);
    const hits = new Map<string, number>();
    for (let at = 0; at < random.length; at += PACKED_MAGIC_BYTES) {
      const kind = sniffPacked(random.subarray(at, at + PACKED_MAGIC_BYTES));
      if (kind) hits.set(kind, (hits.get(kind) ?? 0) + 1);
    }
    expect([...hits.keys()].filter((kind) => kind !== 'zlib')).toEqual([]);
    // 0x78 then one of four second bytes: 1 in 16384.
    expect(hits.get('zlib') ?? 0).toBeLessThan(samples / 2000);
  });
});

describe('unpack', () => {
  it('reads every gzip member, zero padding between them, as Python gzip does', async () => {
    const members = Buffer.concat([gzipMembers(text('first ')), Buffer.alloc(7), gzipMembers(text('second'), pickleLike)]);
    const output = await unpacked(members, 'gzip');
    expect(fingerprint(output)).toEqual(fingerprint(Buffer.concat([text('first second'), pickleLike])));
    expect(fingerprint(pythonDecompressed('gzip', members) as Buffer)).toEqual(fingerprint(output));
  });

  it('finds the next gzip member whether a member spans many reads or its deflate data ends exactly where a read does', async () => {
    // unpack reads 1 MiB at a time from where the deflate data starts: find the data whose stored blocks make exactly 1 MiB.
    let size = 1 << 20;
    for (let tries = 0; tries < 20; tries++) size -= deflateRawSync(Buffer.alloc(size), { level: 0 }).length - (1 << 20);
    const exact = randomBytes(size);
    const exactMember = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]), deflateRawSync(exact, { level: 0 }), trailer(exact)]);
    expect(exactMember.length - 18).toBe(1 << 20);
    const spanning = randomBytes(3 * MIB + 12345);
    const members = Buffer.concat([exactMember, gzipMembers(spanning, text('tail'))]);
    const expected = fingerprint(Buffer.concat([exact, spanning, text('tail')]));
    expect(fingerprint(await unpacked(members, 'gzip'))).toEqual(expected);
    expect(fingerprint(pythonDecompressed('gzip', members) as Buffer)).toEqual(expected);
  });

  it('skips the optional gzip header fields Python skips, and reads the member after them', async () => {
    const data = text('after the header fields');
    const header = Buffer.from([0x1f, 0x8b, 0x08, 0x1e, 0, 0, 0, 0, 0, 0xff]);
    const extra = Buffer.concat([Buffer.from([5, 0]), text('extra')]);
    const member = Buffer.concat([header, extra, text('name.pkl\0'), text('a comment\0'), Buffer.from([0xab, 0xcd]), deflateRawSync(data), trailer(data)]);
    expect(await unpacked(member, 'gzip')).toEqual(data);
    expect(pythonDecompressed('gzip', member)).toEqual(data);
  });

  it('refuses gzip that Python refuses: trailing garbage, a bad CRC, a wrong length, truncation', async () => {
    const good = gzipMembers(pickleLike);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 8] ^= 1;
    const badLength = Buffer.from(good);
    badLength[badLength.length - 1] ^= 1;
    for (const [bytes, message] of [
      [Buffer.concat([good, text('junk')]), /neither a gzip member nor zero padding/],
      [badCrc, /CRC32 does not match/],
      [badLength, /recorded length does not match/],
      [good.subarray(0, good.length - 100), /not a whole gzip stream/],
      [good.subarray(0, good.length - 3), /ends inside the trailer/],
    ] as const) {
      await expect(unpacked(bytes, 'gzip')).rejects.toThrow(message);
      await expect(unpacked(bytes, 'gzip')).rejects.toBeInstanceOf(PackedStreamError);
      expect(pythonDecompressed('gzip', bytes)).toBe('error');
    }
  });

  it('reads one zlib stream, as joblib writes it, and refuses bytes after it or a truncated one', async () => {
    const stream = zlibStream(pickleLike);
    expect(fingerprint(await unpacked(stream, 'zlib'))).toEqual(fingerprint(pickleLike));
    await expect(unpacked(Buffer.concat([stream, zlibStream(text('hidden'))]), 'zlib')).rejects.toThrow(/bytes follow the end of the zlib stream/);
    await expect(unpacked(stream.subarray(0, stream.length - 10), 'zlib')).rejects.toBeInstanceOf(PackedStreamError);
  });

  it('reads every bzip2 stream as Python bz2 does, and refuses corrupt, truncated or trailing data', async () => {
    const streams = pythonCompressed('bz2', text('first '), pickleLike, Buffer.alloc(0), text('last'));
    const output = await unpacked(streams, 'bzip2');
    expect(fingerprint(output)).toEqual(fingerprint(Buffer.concat([text('first '), pickleLike, text('last')])));
    expect(fingerprint(pythonDecompressed('bz2', streams) as Buffer)).toEqual(fingerprint(output));

    const corrupt = Buffer.from(streams);
    corrupt[60] ^= 0x10;
    await expect(unpacked(corrupt, 'bzip2')).rejects.toThrow(/corrupt bzip2 data/);
    await expect(unpacked(streams.subarray(0, streams.length - 5), 'bzip2')).rejects.toBeInstanceOf(PackedStreamError);
    await expect(unpacked(Buffer.concat([streams, text('junk after the last stream')]), 'bzip2')).rejects.toThrow(/not another bzip2 stream/);
  });

  it('reads every xz stream, and across stream padding, where Python stops: all it reads and more', async () => {
    const streams = pythonCompressed('xz', text('first '), pickleLike);
    const expected = fingerprint(Buffer.concat([text('first '), pickleLike]));
    expect(fingerprint(await unpacked(streams, 'xz'))).toEqual(expected);
    expect(fingerprint(pythonDecompressed('lzma', streams) as Buffer)).toEqual(expected);

    const first = pythonCompressed('xz', text('first '));
    const padded = Buffer.concat([first, Buffer.alloc(4), pythonCompressed('xz', text('hidden'))]);
    const python = pythonDecompressed('lzma', padded) as Buffer;
    const output = await unpacked(padded, 'xz');
    expect(output.subarray(0, python.length)).toEqual(python);
    expect(output).toEqual(text('first hidden'));
  });

  it('refuses xz that is truncated, corrupt, followed by junk, or checked by SHA-256 (which it cannot verify)', async () => {
    const stream = pythonCompressed('xz', pickleLike);
    const corrupt = Buffer.from(stream);
    corrupt[stream.length >> 1] ^= 0x55;
    const sha256 = execFileSync('python3', ['-c', 'import lzma, sys; sys.stdout.buffer.write(lzma.compress(b"data", check=lzma.CHECK_SHA256))']);
    for (const [bytes, message] of [
      [stream.subarray(0, stream.length - 30), /ends inside a stream|corrupt/],
      [corrupt, /corrupt/],
      [Buffer.concat([stream, text('junk')]), /only part of one/],
      [Buffer.concat([stream, text('junk that is long enough for a header')]), /not xz data/],
      [sha256, /check type .* does not support/],
    ] as const) {
      await expect(unpacked(bytes, 'xz')).rejects.toThrow(message);
    }
    // A refused stream frees the one decoder xz-decompress has: the next one still reads.
    expect(fingerprint(await unpacked(stream, 'xz'))).toEqual(fingerprint(pickleLike));
  });

  it("reads lzma-alone streams as Python lzma does: joblib's, then any after it (of any lc/lp/pb, as LZMAFile goes on), and one of known size", async () => {
    const structured = Buffer.concat(Array.from({ length: 2000 }, (_, index) => text(`tensor_${index % 97}:${'ab'.repeat(index % 13)};`)));
    for (const parts of [[pickleLike], [Buffer.alloc(0)], [text('x')], [structured, text('tail')]]) {
      const streams = Buffer.concat([pythonCompressed('lzma-alone', ...parts), pythonCompressed('lzma-alone-lc0-lp4-pb4', pickleLike)]);
      const expected = fingerprint(Buffer.concat([...parts, pickleLike]));
      expect(fingerprint(await unpacked(streams, 'lzma-alone'))).toEqual(expected);
      expect(fingerprint(pythonDecompressed('lzma', streams) as Buffer)).toEqual(expected);
    }
    expect(await unpacked(KNOWN_SIZE_LZMA, 'lzma-alone')).toEqual(KNOWN_SIZE_LZMA_CONTENT);
    expect(pythonDecompressed('lzma', KNOWN_SIZE_LZMA)).toEqual(KNOWN_SIZE_LZMA_CONTENT);
  });

  it('reads a damaged lzma-alone stream, which has no checksum, exactly as Python lzma does, or refuses it where Python does', async () => {
    const stream = pythonCompressed('lzma-alone', Buffer.concat([text('cos\nsystem\n'), randomBytes(2000), Buffer.alloc(3000, 0x61)]));
    for (let trial = 0; trial < 40; trial++) {
      const damaged = Buffer.from(stream);
      const at = 14 + ((trial * 7919) % (stream.length - 14));
      damaged[at] ^= 1 << (trial % 8);
      const python = pythonDecompressed('lzma', damaged);
      const ours = await unpacked(damaged, 'lzma-alone').catch((error) => {
        expect(error).toBeInstanceOf(PackedStreamError);
        return 'error' as const;
      });
      expect([at, ours === 'error' ? ours : fingerprint(ours)]).toEqual([at, python === 'error' ? python : fingerprint(python)]);
    }
  });

  it('refuses lzma-alone that is truncated, followed by junk, or needs a dictionary past 64 MiB', async () => {
    const stream = pythonCompressed('lzma-alone', pickleLike);
    const wide = Buffer.from(stream);
    wide.writeUInt32LE(1 << 27, 1);
    for (const [bytes, message] of [
      [stream.subarray(0, stream.length - 3), /ends inside the stream/],
      [Buffer.concat([stream, text('junk')]), /are not another lzma-alone stream/],
      [wide, /needs a 134217728-byte dictionary/],
    ] as const) {
      await expect(unpacked(bytes, 'lzma-alone')).rejects.toThrow(message);
    }
  });

  it('reads zstd frames from the zstd tool, frames of raw and RLE blocks, frames in a row and skippable frames', async () => {
    expect(await unpacked(ZSTD_CLI_FRAME, 'zstd')).toEqual(ZSTD_CLI_CONTENT);
    const handMade = zstdFrame([text('raw '), { byte: 0x41, count: 5 }, text(' end')]);
    expect(await unpacked(handMade, 'zstd')).toEqual(text('raw AAAAA end'));
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), text('xyz')]);
    expect(await unpacked(Buffer.concat([skippable, handMade, skippable, ZSTD_CLI_FRAME]), 'zstd')).toEqual(Buffer.concat([text('raw AAAAA end'), ZSTD_CLI_CONTENT]));
  });

  it("refuses zstd that is truncated, followed by junk, needs a dictionary or a window past libzstd's limit", async () => {
    const dictionary = Buffer.from(ZSTD_CLI_FRAME);
    dictionary[4] |= 0x01;
    const wideWindow = zstdFrame([text('x')], 1 << 28);
    for (const [bytes, message] of [
      [ZSTD_CLI_FRAME.subarray(0, ZSTD_CLI_FRAME.length - 6), /ends inside the frame|runs past the end/],
      [Buffer.concat([ZSTD_CLI_FRAME, text('junk')]), /not a zstd frame/],
      [dictionary, /needs a dictionary/],
      [wideWindow, /needs a 268435456-byte window/],
    ] as const) {
      await expect(unpacked(bytes, 'zstd')).rejects.toThrow(message);
    }
  });

  it('refuses the kinds it has no decompressor for, and says so before reading them', async () => {
    for (const [bytes, kind] of [
      [LZ4_CLI_FRAME, 'lz4-frame'],
      [SEVEN_ZIP_SIGNATURE, '7z'],
    ] as const) {
      expect(unpackRefusal(kind)).toEqual(expect.any(String));
      await expect(unpacked(bytes, kind)).rejects.toThrow(UnsupportedPackingError);
    }
    for (const kind of ['gzip', 'zlib', 'bzip2', 'xz', 'lzma-alone', 'zstd'] as const) expect(unpackRefusal(kind)).toBeNull();
  });

  it('refuses bytes that are not of the kind the caller names', async () => {
    await expect(unpacked(zlibStream(pickleLike), 'gzip')).rejects.toThrow(/does not open as gzip data but as zlib/);
  });

  it('charges exactly what it produces to the budget, and reads back any range across its chunks', async () => {
    const budget = new InflateBudget(64 * MIB);
    budget.charge(1000, 'an earlier file');
    const data = randomBytes(300_000);
    const output = await unpack(bufferSource(gzipMembers(data.subarray(0, 100_000), data.subarray(100_000))), 'gzip', budget, 'model.bin');
    expect(budget.used).toBe(1000 + data.length);
    expect(output.size).toBe(data.length);
    for (const [offset, length] of [
      [0, 0],
      [0, 10],
      [65_530, 20],
      [99_990, 20],
      [1, 299_999],
      [299_999, 1],
    ]) {
      expect(fingerprint(await output.read(offset, length))).toEqual(fingerprint(data.subarray(offset, offset + length)));
    }
    await expect(output.read(299_999, 2)).rejects.toThrow(/outside/);
  });
});

describe('unpack against bombs', () => {
  const LIMIT = 64 * MIB;

  /** Peak resident memory above the start while `run` goes, sampled between its awaits and taken from the process's high-water mark. */
  async function peakRssGrowth(run: () => Promise<unknown>): Promise<number> {
    const start = process.memoryUsage().rss;
    const maxBefore = process.resourceUsage().maxRSS * 1024;
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await run();
    } finally {
      clearInterval(sampler);
    }
    // A synchronous decoder (seek-bzip) runs between no samples: the high-water mark catches it when it rose.
    const maxAfter = process.resourceUsage().maxRSS * 1024;
    return Math.max(peak, process.memoryUsage().rss, maxAfter > maxBefore ? maxAfter : 0) - start;
  }

  async function expectStopped(bomb: Buffer, kind: PackedKind, inflates: number): Promise<void> {
    const budget = new InflateBudget(LIMIT);
    let failure: unknown;
    const growth = await peakRssGrowth(() => unpack(bufferSource(bomb), kind, budget, 'bomb.pkl').catch((error) => (failure = error)));
    expect(failure).toBeInstanceOf(InflateBudgetError);
    // Stopped at the first chunk past the budget, of the gigabytes the bomb holds.
    expect(budget.used).toBeGreaterThan(LIMIT);
    expect(budget.used).toBeLessThan(LIMIT + 2 * MIB);
    expect(budget.used).toBeLessThan(inflates / 16);
    // Output kept up to the budget, plus the decoder's own buffers: never the bomb's size.
    expect(growth).toBeLessThan(LIMIT + 192 * MIB);
    process.stdout.write(`${kind} bomb: ${bomb.length} bytes for ${inflates / GIB} GiB, stopped after ${budget.used} bytes, peak RSS +${Math.round(growth / MIB)} MiB\n`);
  }

  it('stops an 8 GiB gzip member made of 8 MB', async () => {
    await expectStopped(gzipBomb(8 * GIB), 'gzip', 8 * GIB);
  });

  it('stops a gzip bomb inside a gzip, the outer and inner outputs charged to one budget', async () => {
    const inner = gzipBomb(4 * GIB);
    const outer = gzipSync(inner, { level: 9 });
    expect(outer.length).toBeLessThan(inner.length / 50);
    const budget = new InflateBudget(LIMIT);
    const unwrapped = await unpack(bufferSource(outer), 'gzip', budget, 'nested.pkl.gz');
    expect(budget.used).toBe(inner.length);
    expect(sniffPacked(await unwrapped.read(0, PACKED_MAGIC_BYTES))).toBe('gzip');
    await expect(unpack(unwrapped, 'gzip', budget, 'nested.pkl.gz > inner')).rejects.toThrow(InflateBudgetError);
    expect(budget.used).toBeLessThan(LIMIT + 2 * MIB);
  });

  it('stops 4 GiB of bzip2, xz and lzma-alone streams and of zstd RLE blocks', async () => {
    await expectStopped(pythonBomb('bz2', 64), 'bzip2', 4 * GIB);
    await expectStopped(pythonBomb('xz', 64), 'xz', 4 * GIB);
    await expectStopped(pythonBomb('lzma-alone', 64), 'lzma-alone', 4 * GIB);
    await expectStopped(zstdBomb(4 * GIB), 'zstd', 4 * GIB);
  });
});

function trailer(data: Uint8Array): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(crc32(data), 0);
  bytes.writeUInt32LE(data.length, 4);
  return bytes;
}

describe('unpacked bytes', () => {
  it('go to a temporary file past a few MiB, so memory stays flat, and are gone once released', async () => {
    const pattern = Buffer.from('gatehouse unpacked bytes ');
    const plain = Buffer.alloc(200 * 1024 * 1024, pattern);
    const packed = gzipMembers(plain);
    const before = process.memoryUsage().rss;
    const source = await unpack(bufferSource(packed), 'gzip', new InflateBudget(1 << 30), 'big.gz');
    const growth = process.memoryUsage().rss - before;
    expect(source.size).toBe(plain.length);
    for (const offset of [0, 17 * 1024 * 1024 + 3, plain.length - 40]) expect(await source.read(offset, 40)).toEqual(plain.subarray(offset, offset + 40));
    expect(growth).toBeLessThan(100 * 1024 * 1024);
    const temporaries = () => readdirSync(tmpdir()).filter((name) => name.startsWith('gatehouse-unpacked-')).length;
    const held = temporaries();
    source.release();
    expect(temporaries()).toBe(held - 1);
  });
});
