import { crc32, createInflate, createInflateRaw, type Inflate, type InflateRaw } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import Bunzip from 'seek-bzip';
import { XzReadableStream } from 'xz-decompress';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ByteSource } from './byte-source';
import { InflateBudgetError, type InflateBudget } from './inflate-budget';
import { decodeLzmaAlone, LzmaDataError } from './lzma-alone-decoder';

/**
 * Compressed single streams a Python loader unpacks by itself, whatever the
 * file is called: joblib.load sniffs zlib, gzip, bzip2, xz, lzma-alone and
 * lz4 (joblib/numpy_pickle_utils.py `_detect_compressor`); Python's gzip,
 * bz2, lzma and zstd modules open the rest. 7z is an archive, listed here
 * because it is refused the same way.
 */
export type PackedKind = 'gzip' | 'zlib' | 'joblib-zfile' | 'bzip2' | 'xz' | 'lzma-alone' | 'lz4-frame' | 'zstd' | '7z';

/** Leading bytes `sniffPacked` reads: an lzma-alone header and the first byte after it. */
export const PACKED_MAGIC_BYTES = 14;

/** The stream is truncated, corrupt, followed by bytes no loader reads as more of it, or not of the kind claimed. */
export class PackedStreamError extends Error {
  override name = 'PackedStreamError';
  /** What came out before the break: a loader that reads the stream as it unpacks gets this much first. Release it once read. */
  unpackedBeforeBreak: UnpackedSource | null = null;

  constructor(
    readonly kind: PackedKind,
    message: string,
  ) {
    super(message);
  }
}

/** `unpack` was asked for a kind it has no decompressor for (see {@link unpackRefusal}); the scan refuses the file. */
export class UnsupportedPackingError extends Error {
  override name = 'UnsupportedPackingError';

  constructor(
    readonly kind: PackedKind,
    what: string,
  ) {
    super(`${what} is ${kind} data, which the scan cannot unpack: ${REFUSED[kind]}`);
  }
}

const REFUSED: Partial<Record<PackedKind, string>> = {
  'lz4-frame': 'no maintained streaming LZ4 frame decoder for Node that bounds its output was found',
  '7z': 'a 7z archive needs a full 7-Zip, which the scan does not carry',
};

/** Why `unpack` cannot read `kind`, or null when it can: a caller refuses such a file rather than pass it unread. */
export function unpackRefusal(kind: PackedKind): string | null {
  return REFUSED[kind] ?? null;
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const SEVEN_ZIP_MAGIC = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c];
const LZ4_FRAME_MAGIC = [0x04, 0x22, 0x4d, 0x18];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_BLOCK_MAGIC = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const BZIP2_END_MAGIC = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
/** lzma-alone headers that declare a size give one below 256 GiB; liblzma takes larger ones for random data. */
const LZMA_ALONE_MAX_SIZE = 1n << 38n;

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0) => bytes.length >= at + magic.length && magic.every((byte, index) => bytes[at + index] === byte);

/**
 * The kind of compressed stream the bytes open, judged as the decoders that
 * Python loaders call judge them, so that random data (raw tensors) is not
 * taken for one: a whole header where the format has one, its check where it
 * has a check. `magic` is the first {@link PACKED_MAGIC_BYTES} bytes, or the
 * whole file if shorter.
 */
export function sniffPacked(magic: Uint8Array): PackedKind | undefined {
  // joblib's pre-0.10 format: ZF, the length in hex, then a zlib stream (joblib/numpy_pickle_compat.py, read_zfile).
  if (startsWith(magic, [0x5a, 0x46, 0x30, 0x78]) && magic.length > 4 && /[0-9a-f]/.test(String.fromCharCode(magic[4]))) return 'joblib-zfile';
  // gzip: ID1 ID2 and deflate, the only method Python's gzip and zlib accept.
  if (startsWith(magic, [0x1f, 0x8b, 0x08])) return 'gzip';
  // joblib takes any file opening 0x78 for zlib; zlib itself then wants a header whose FCHECK holds and no preset dictionary.
  if (magic.length >= 2 && magic[0] === 0x78 && ((magic[0] << 8) | magic[1]) % 31 === 0 && (magic[1] & 0x20) === 0) return 'zlib';
  if (startsWith(magic, [0x42, 0x5a, 0x68]) && magic[3] >= 0x31 && magic[3] <= 0x39 && (startsWith(magic, BZIP2_BLOCK_MAGIC, 4) || startsWith(magic, BZIP2_END_MAGIC, 4))) {
    return 'bzip2';
  }
  // xz: magic, stream flags (a reserved zero byte, a 4-bit check type) and their CRC32.
  if (startsWith(magic, XZ_MAGIC) && magic.length >= 12 && magic[6] === 0 && (magic[7] & 0xf0) === 0) {
    const flagsCrc = Buffer.from(magic.buffer, magic.byteOffset + 8, 4).readUInt32LE(0);
    if (crc32(magic.subarray(6, 8)) === flagsCrc) return 'xz';
  }
  if (startsWith(magic, SEVEN_ZIP_MAGIC)) return '7z';
  // lz4 frame: magic, then a frame descriptor of version 01.
  if (startsWith(magic, LZ4_FRAME_MAGIC) && magic.length >= 5 && magic[4] >> 6 === 1) return 'lz4-frame';
  // zstd frame (its descriptor's reserved bit clear), or a skippable frame, which zstd decoders step over.
  if (startsWith(magic, ZSTD_MAGIC) && magic.length >= 5 && (magic[4] & 0x08) === 0) return 'zstd';
  if (magic.length >= 8 && (magic[0] & 0xf0) === 0x50 && startsWith(magic, [0x2a, 0x4d, 0x18], 1)) return 'zstd';
  // joblib opens lzma-alone only for files starting 5d 00 (its _LZMA_PREFIX), and no other loader sniffs it: zeros pass liblzma's test.
  if (magic[0] === 0x5d && magic[1] === 0x00 && isLzmaAloneHeader(magic)) return 'lzma-alone';
  return undefined;
}

/**
 * liblzma's lzma-alone test, as Python's lzma.LZMAFile (FORMAT_AUTO, which
 * joblib opens for files starting 5d 00) applies it: properties lc+lp <= 4,
 * a dictionary size of 2^n or 2^n + 2^(n-1), a declared size below 256 GiB,
 * and the range coder's first byte zero.
 */
function isLzmaAloneHeader(magic: Uint8Array): boolean {
  if (magic.length < 14 || magic[0] > 224) return false;
  const lc = magic[0] % 9;
  const lp = Math.floor(magic[0] / 9) % 5;
  if (lc + lp > 4) return false;
  const header = Buffer.from(magic.buffer, magic.byteOffset, 14);
  const dictionary = header.readUInt32LE(1);
  if (dictionary !== 0xffffffff) {
    let rounded = (dictionary - 1) >>> 0;
    rounded |= rounded >>> 2;
    rounded |= rounded >>> 3;
    rounded |= rounded >>> 4;
    rounded |= rounded >>> 8;
    rounded |= rounded >>> 16;
    if ((rounded + 1) >>> 0 !== dictionary) return false;
  }
  const size = header.readBigUInt64LE(5);
  if (size !== 0xffffffffffffffffn && size >= LZMA_ALONE_MAX_SIZE) return false;
  return header[13] === 0;
}

/**
 * Decompresses `source`, of `kind`, to the bytes a Python loader reads from
 * it, charging each chunk to `budget` as it comes out so a bomb stops at the
 * first chunk past it. Every gzip member, bzip2 stream, xz or lzma-alone
 * stream and zstd frame is read, one after another, as Python's gzip, bz2
 * and lzma modules read them (joblib reads a prefix of that). Throws PackedStreamError for a
 * truncated, corrupt or mislabelled stream, UnsupportedPackingError for a
 * kind with no decompressor here, InflateBudgetError past the budget.
 * `what` names the file (and member) in errors and budget charges.
 */
/** Unpacked bytes, in memory or, past a few MiB, in a temporary file: `release` frees them, and the caller calls it once done. */
export type UnpackedSource = ByteSource & { release(): void };

export async function unpack(source: ByteSource, kind: PackedKind, budget: InflateBudget, what: string): Promise<UnpackedSource> {
  const decode = DECODERS[kind];
  if (!decode) throw new UnsupportedPackingError(kind, what);
  const sniffed = sniffPacked(await source.read(0, Math.min(source.size, PACKED_MAGIC_BYTES)));
  if (sniffed !== kind) throw new PackedStreamError(kind, `${what} does not open as ${kind} data${sniffed ? ` but as ${sniffed}` : ''}`);
  const output = new Output(budget, what);
  try {
    await decode(source, output, what);
  } catch (error) {
    if (error instanceof PackedStreamError) error.unpackedBeforeBreak = output.source();
    else output.source().release();
    throw error;
  }
  return output.source();
}

/** Each kind's reader: it feeds `output` every decompressed chunk as it comes, and throws PackedStreamError on bad data. */
const DECODERS: Partial<Record<PackedKind, (source: ByteSource, output: Output, what: string) => Promise<void>>> = {
  gzip: gunzipMembers,
  zlib: inflateZlib,
  'joblib-zfile': inflateZfile,
  bzip2: bunzipStreams,
  xz: unxzStreams,
  'lzma-alone': unlzmaStreams,
  zstd: unzstdFrames,
};

/** Reads of the compressed input, and how much of it a decompressor may hold in memory at once. */
const READ_CHUNK = 1 << 20;
/** Output chunks of the decoders that write byte by byte. */
const OUTPUT_CHUNK = 64 * 1024;

/** Unpacked bytes held in memory at most; more go to a temporary file, so a small bomb within the budget costs disk, not the registry's memory. */
const IN_MEMORY_BYTES = 16 * 1024 * 1024;

/** The decompressed bytes, charged to the budget chunk by chunk, kept as those chunks (never copied into one buffer) or spilled to a file. */
class Output {
  private chunks: Buffer[] = [];
  private starts: number[] = [];
  private total = 0;
  private spill: { directory: string; fd: number } | null = null;

  constructor(
    private readonly budget: InflateBudget,
    private readonly what: string,
  ) {}

  get size(): number {
    return this.total;
  }

  /** What the budget still allows. */
  get remaining(): number {
    return Math.max(0, this.budget.limit - this.budget.used);
  }

  push(chunk: Buffer): void {
    this.budget.charge(chunk.length, this.what);
    if (chunk.length === 0) return;
    if (!this.spill && this.total + chunk.length > IN_MEMORY_BYTES) {
      const directory = mkdtempSync(join(tmpdir(), 'gatehouse-unpacked-'));
      this.spill = { directory, fd: openSync(join(directory, 'data'), 'w+') };
      for (const held of this.chunks) writeAll(this.spill.fd, held);
      this.chunks = [];
      this.starts = [];
    }
    if (this.spill) writeAll(this.spill.fd, chunk);
    else {
      this.starts.push(this.total);
      this.chunks.push(chunk);
    }
    this.total += chunk.length;
  }

  source(): UnpackedSource {
    const { chunks, starts, total, spill } = this;
    const inRange = (offset: number, length: number) => {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > total) {
        throw new RangeError(`bytes [${offset}, +${length}) lie outside the ${total} unpacked`);
      }
    };
    if (spill) {
      return {
        size: total,
        async read(offset, length) {
          inRange(offset, length);
          const buffer = Buffer.allocUnsafe(length);
          for (let filled = 0; filled < length;) filled += readSync(spill.fd, buffer, filled, length - filled, offset + filled);
          return buffer;
        },
        release() {
          closeSync(spill.fd);
          rmSync(spill.directory, { recursive: true, force: true });
        },
      };
    }
    return {
      size: total,
      async read(offset, length) {
        inRange(offset, length);
        if (length === 0) return Buffer.alloc(0);
        let index = chunkAt(starts, offset);
        const first = chunks[index].subarray(offset - starts[index]);
        if (first.length >= length) return first.subarray(0, length);
        const parts = [first];
        let gathered = first.length;
        while (gathered < length) {
          const next = chunks[++index];
          parts.push(next.subarray(0, Math.min(next.length, length - gathered)));
          gathered += parts[parts.length - 1].length;
        }
        return Buffer.concat(parts, length);
      },
      release: () => undefined,
    };
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let written = 0; written < chunk.length;) written += writeSync(fd, chunk, written, chunk.length - written);
}

/** Index of the chunk holding byte `offset`: the last start at or before it. */
function chunkAt(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle] <= offset) low = middle;
    else high = middle - 1;
  }
  return low;
}

const GZIP_FLAGS = { text: 0x01, headerCrc: 0x02, extra: 0x04, name: 0x08, comment: 0x10 };

/**
 * Every member, as Python's gzip module reads them: header fields skipped
 * (the header CRC unchecked, as Python leaves it), the deflate data, a CRC32
 * and size trailer that must match, then zero padding, then either the end
 * or another member.
 */
async function gunzipMembers(source: ByteSource, output: Output, what: string): Promise<void> {
  const fail = (message: string) => new PackedStreamError('gzip', `${what}: ${message}`);
  const exact = async (offset: number, length: number, field: string) => {
    if (offset + length > source.size) throw fail(`the gzip data ends inside the ${field} at offset ${offset}`);
    return source.read(offset, length);
  };
  let at = 0;
  for (let member = 1; ; member++) {
    const magic = await source.read(at, Math.min(2, source.size - at));
    if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
      throw fail(`the ${source.size - at} bytes at offset ${at} after member ${member - 1} are neither a gzip member nor zero padding`);
    }
    const header = await exact(at, 10, 'member header');
    if (header[2] !== 8) throw fail(`member ${member} at offset ${at} uses compression method ${header[2]}, not deflate`);
    const flags = header[3];
    let dataStart = at + 10;
    if (flags & GZIP_FLAGS.extra) dataStart += 2 + (await exact(dataStart, 2, 'extra field length')).readUInt16LE(0);
    for (const field of [GZIP_FLAGS.name, GZIP_FLAGS.comment]) {
      if (flags & field) dataStart = (await endOfZeroTerminated(source, dataStart, fail)) + 1;
    }
    if (flags & GZIP_FLAGS.headerCrc) dataStart += 2;
    if (dataStart > source.size) throw fail(`member ${member}'s header runs past the end of the data`);

    let crc = 0;
    let size = 0;
    const consumed = await inflate(
      source,
      dataStart,
      createInflateRaw({ chunkSize: OUTPUT_CHUNK }),
      (chunk) => {
        output.push(chunk);
        crc = crc32(chunk, crc);
        size += chunk.length;
      },
      'gzip',
      `${what} (member ${member})`,
    );
    const trailer = await exact(dataStart + consumed, 8, `trailer of member ${member}`);
    if (trailer.readUInt32LE(0) !== crc >>> 0) throw fail(`member ${member}'s CRC32 does not match its data`);
    if (trailer.readUInt32LE(4) !== size % 2 ** 32) throw fail(`member ${member}'s recorded length does not match its data`);
    at = await skipZeros(source, dataStart + consumed + 8);
    if (at === source.size) return;
  }
}

async function endOfZeroTerminated(source: ByteSource, from: number, fail: (message: string) => Error): Promise<number> {
  for (let at = from; at < source.size; at += 4096) {
    const chunk = await source.read(at, Math.min(4096, source.size - at));
    const zero = chunk.indexOf(0);
    if (zero >= 0) return at + zero;
  }
  throw fail(`a header string from offset ${from} is not terminated before the end of the data`);
}

async function skipZeros(source: ByteSource, from: number): Promise<number> {
  for (let at = from; at < source.size; at += 4096) {
    const chunk = await source.read(at, Math.min(4096, source.size - at));
    const nonZero = chunk.findIndex((byte) => byte !== 0);
    if (nonZero >= 0) return at + nonZero;
  }
  return source.size;
}

/** joblib's zlib files: one zlib stream (checked by its Adler-32) and nothing after it. */
/** `ZF` and 19 characters of hex length, one more space if joblib <= 0.8.4 wrote it, then zlib; what follows the stream zlib.decompress ignores. */
async function inflateZfile(source: ByteSource, output: Output, what: string): Promise<void> {
  const HEADER = 2 + 19;
  if (source.size <= HEADER) throw new PackedStreamError('joblib-zfile', `${what}: the ZF header is cut short`);
  const start = (await source.read(HEADER, 1))[0] === 0x20 ? HEADER + 1 : HEADER;
  await inflate(source, start, createInflate({ chunkSize: OUTPUT_CHUNK }), (chunk) => output.push(chunk), 'joblib-zfile', what);
}

async function inflateZlib(source: ByteSource, output: Output, what: string): Promise<void> {
  const consumed = await inflate(source, 0, createInflate({ chunkSize: OUTPUT_CHUNK }), (chunk) => output.push(chunk), 'zlib', what);
  if (consumed !== source.size) throw new PackedStreamError('zlib', `${what}: ${source.size - consumed} bytes follow the end of the zlib stream`);
}

/**
 * Feeds `source` from `start` into a node:zlib inflater until its stream
 * ends, handing each output chunk to `sink` as it comes out; resolves to the
 * compressed bytes the stream took. A chunk goes in only once the one before
 * it was taken whole, so where the stream ends inside a chunk is known.
 */
function inflate(source: ByteSource, start: number, inflater: Inflate | InflateRaw, sink: (chunk: Buffer) => void, kind: PackedKind, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, consumed?: number) => {
      if (settled) return;
      settled = true;
      if (error === undefined) return resolve(consumed!);
      inflater.destroy();
      const zlibCode = (error as { code?: unknown }).code;
      reject(
        typeof zlibCode === 'string' && zlibCode.startsWith('Z_')
          ? new PackedStreamError(kind, `${what} is not a whole ${kind} stream: ${(error as Error).message}`)
          : (error as Error),
      );
    };
    inflater.on('data', (chunk: Buffer) => {
      try {
        sink(chunk);
      } catch (error) {
        settle(error);
      }
    });
    inflater.on('error', (error) => settle(error));
    inflater.on('end', () => settle(undefined, inflater.bytesWritten));
    const feed = async () => {
      let fed = 0;
      for (let at = start; at < source.size && !settled;) {
        const chunk = await source.read(at, Math.min(READ_CHUNK, source.size - at));
        at += chunk.length;
        fed += chunk.length;
        await new Promise<void>((written, failed) => inflater.write(chunk, (error) => (error ? failed(error) : written())));
        // The stream ended inside this chunk: the inflater left the rest, and 'end' follows.
        if (inflater.bytesWritten < fed) return;
      }
      if (!settled) inflater.end();
    };
    feed().catch((error) => settle(error));
  });
}

/**
 * The whole compressed input, for the decoders that work from memory: no
 * more of it than streams whose output fits the rest of the budget can take.
 */
async function wholeInput(source: ByteSource, output: Output, kind: PackedKind, what: string): Promise<Buffer> {
  const remaining = output.remaining;
  // bzip2 and LZMA grow incompressible data by well under 1%, plus a few hundred bytes a block.
  if (source.size > remaining + remaining / 50 + READ_CHUNK) {
    throw new InflateBudgetError(
      `${what} holds ${source.size} bytes of ${kind} data, more than could decompress within the ${remaining} bytes left of what the scan may inflate for one version (maxInflateMiB)`,
    );
  }
  return source.read(0, source.size);
}

/**
 * Every bzip2 stream, one after another (seek-bzip's multistream mode, each
 * block's and stream's CRC checked), as Python's bz2 module reads them.
 */
async function bunzipStreams(source: ByteSource, output: Output, what: string): Promise<void> {
  const input = await wholeInput(source, output, 'bzip2', what);
  const fail = (message: string) => new PackedStreamError('bzip2', `${what}: ${message}`);
  let position = 0;
  const inputStream = {
    readByte() {
      if (position >= input.length) throw fail('the bzip2 data ends inside a stream');
      return input[position++];
    },
    read(buffer: Uint8Array, offset: number, length: number) {
      const count = Math.min(length, input.length - position);
      if (count <= 0) return -1;
      buffer.set(input.subarray(position, position + count), offset);
      position += count;
      return count;
    },
    eof: () => position >= input.length,
    seek(to: number) {
      position = to;
    },
  };
  let pending = Buffer.allocUnsafe(OUTPUT_CHUNK);
  let filled = 0;
  const flush = () => {
    if (filled === 0) return;
    output.push(pending.subarray(0, filled));
    pending = Buffer.allocUnsafe(OUTPUT_CHUNK);
    filled = 0;
  };
  const outputStream = {
    writeByte(byte: number) {
      pending[filled++] = byte;
      if (filled === OUTPUT_CHUNK) flush();
    },
  };
  try {
    Bunzip.decode(inputStream, outputStream, true);
  } catch (error) {
    // seek-bzip throws TypeErrors carrying its own status code.
    if (typeof (error as { errorCode?: unknown }).errorCode === 'number') {
      const trailing = (error as { errorCode: number }).errorCode === Bunzip.Err.NOT_BZIP_DATA && output.size > 0;
      throw fail(trailing ? `the bytes after the bzip2 stream ending before offset ${position} are not another bzip2 stream` : `corrupt bzip2 data: ${(error as Error).message}`);
    }
    throw error;
  }
  flush();
}

/** xz-decompress allows as much; Python's preset 9 uses it. */
const LZMA_MAX_DICTIONARY = 1 << 26;

/**
 * Every lzma-alone stream, one after another, as Python's lzma module
 * (FORMAT_AUTO) reads them; an LZMA1 stream has no checksum, so what it
 * decodes is all there is to compare.
 */
async function unlzmaStreams(source: ByteSource, output: Output, what: string): Promise<void> {
  const input = await wholeInput(source, output, 'lzma-alone', what);
  for (let at = 0; at < input.length;) {
    try {
      at = decodeLzmaAlone(input, at, { maxDictionary: LZMA_MAX_DICTIONARY, chunkBytes: OUTPUT_CHUNK, emit: (chunk) => output.push(chunk) });
    } catch (error) {
      if (error instanceof LzmaDataError) throw new PackedStreamError('lzma-alone', `${what} is not a whole lzma-alone stream: ${error.message}`);
      throw error;
    }
    if (at < input.length && !isLzmaAloneHeader(input.subarray(at, at + PACKED_MAGIC_BYTES))) {
      throw new PackedStreamError('lzma-alone', `${what}: the ${input.length - at} bytes after the LZMA stream that ends at offset ${at} are not another lzma-alone stream`);
    }
  }
}

/** xz-embedded's `enum xz_ret`, as xz-decompress reports it. */
const XZ_ERRORS: Record<string, string> = {
  '3': 'the decoder ran out of memory',
  '4': 'it needs a dictionary larger than the 64 MiB the scan allows',
  '5': 'it is not xz data, or the bytes after a stream are not another one',
  // xz-embedded built without XZ_DEC_ANY_CHECK answers an unknown check type (SHA-256) this way too.
  '6': 'it uses a check type (only CRC32 and CRC64 are verified), filter or option the decoder does not support',
  '7': 'it is corrupt',
  '8': 'it ends inside a stream, or the bytes after a stream are only part of one',
};

/**
 * Every xz stream, with the stream padding between them (xz-embedded's
 * concatenated mode, each block's check verified). Python's lzma stops at
 * padding, so this reads all it reads, and more.
 */
async function unxzStreams(source: ByteSource, output: Output, what: string): Promise<void> {
  let at = 0;
  const compressed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at >= source.size) return controller.close();
      const chunk = await source.read(at, Math.min(READ_CHUNK, source.size - at));
      at += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const reader = new XzReadableStream(compressed).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      output.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  } catch (error) {
    // Cancelling frees the decoder, which xz-decompress lets only one stream hold at a time.
    await reader.cancel().catch(() => undefined);
    const code = /failed with error code (\d+)/.exec((error as Error).message)?.[1];
    if (code !== undefined) throw new PackedStreamError('xz', `${what} is not a whole xz stream: ${XZ_ERRORS[code] ?? `decoder error ${code}`}`);
    throw error;
  }
}

/** libzstd's default window limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27), which Python's zstd decoder keeps: frames needing more fail there too. */
const ZSTD_MAX_WINDOW = 1 << 27;

/**
 * Every zstd frame, skippable frames stepped over, as zstd decoders read
 * them. The frame headers are walked first, so that no frame makes fzstd
 * allocate a window past libzstd's limit, and no frame needs a dictionary.
 */
async function unzstdFrames(source: ByteSource, output: Output, what: string): Promise<void> {
  await checkZstdFrames(source, what);
  const decoder = new ZstdDecompress((chunk) => output.push(Buffer.from(chunk)));
  try {
    for (let at = 0; at < source.size;) {
      const chunk = await source.read(at, Math.min(READ_CHUNK, source.size - at));
      at += chunk.length;
      decoder.push(chunk, at === source.size);
    }
  } catch (error) {
    if (typeof (error as { code?: unknown }).code === 'number') throw new PackedStreamError('zstd', `${what} is not a whole zstd stream: ${(error as Error).message}`);
    throw error;
  }
}

async function checkZstdFrames(source: ByteSource, what: string): Promise<void> {
  const fail = (message: string) => new PackedStreamError('zstd', `${what}: ${message}`);
  const bytes = async (offset: number, length: number) => {
    if (offset + length > source.size) throw fail(`the zstd data ends inside the frame at offset ${offset}`);
    return source.read(offset, length);
  };
  for (let at = 0; at < source.size;) {
    const magic = (await bytes(at, 4)).readUInt32LE(0);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      at += 8 + (await bytes(at + 4, 4)).readUInt32LE(0);
      continue;
    }
    if (magic !== 0xfd2fb528) throw fail(`the bytes at offset ${at} are not a zstd frame`);
    const descriptor = (await bytes(at + 4, 1))[0];
    const singleSegment = (descriptor >> 5) & 1;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3];
    const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6];
    let position = at + 5;
    let window = 0;
    if (!singleSegment) {
      const windowDescriptor = (await bytes(position++, 1))[0];
      const base = 2 ** (10 + (windowDescriptor >> 3));
      window = base + (base / 8) * (windowDescriptor & 7);
    }
    if (dictionaryBytes > 0 && (await bytes(position, dictionaryBytes)).readUIntLE(0, dictionaryBytes) !== 0) {
      throw fail(`the zstd frame at offset ${at} needs a dictionary, which the scan does not have`);
    }
    position += dictionaryBytes;
    if (singleSegment) {
      const field = await bytes(position, contentSizeBytes);
      window = contentSizeBytes === 8 ? Number(field.readBigUInt64LE(0)) : field.readUIntLE(0, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    }
    position += contentSizeBytes;
    if (window > ZSTD_MAX_WINDOW) throw fail(`the zstd frame at offset ${at} needs a ${window}-byte window, more than the ${ZSTD_MAX_WINDOW} zstd decoders allow by default`);
    for (let last = 0; !last;) {
      const header = (await bytes(position, 3)).readUIntLE(0, 3);
      last = header & 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw fail(`the zstd block at offset ${position} has the reserved block type`);
      position += 3 + (type === 1 ? 1 : header >> 3);
    }
    // Content checksum flag.
    if (descriptor & 0x04) position += 4;
    if (position > source.size) throw fail(`the zstd frame at offset ${at} runs past the end of the data`);
    at = position;
  }
}
