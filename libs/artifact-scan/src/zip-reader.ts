/**
 * Reads zip archives (PyTorch checkpoints, `.npz`) the way PyTorch's miniz
 * reader does: from the central directory, trusting its names and sizes over
 * the local headers. Only the directory is read to list entries, so a large
 * checkpoint lists in milliseconds, and a deflated member is inflated no
 * further than its declared size or the caller's limit. Section numbers refer
 * to PKWARE's APPNOTE.TXT 6.3.
 */
import { createInflateRaw } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { bufferSource, sliceSource, type ByteSource } from './byte-source';
import type { InflateBudget } from './inflate-budget';

/** The bytes are not a zip this reader will read; the message says why and where. */
export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

/** A member inflates past its declared size or the caller's limit. */
export class ZipBombError extends ZipFormatError {
  override name = 'ZipBombError';
}

export interface ZipEntry {
  /** As the central directory spells it; see `unsafeArchivePath` before using it as a path. */
  name: string;
  /** 0 stored, 8 deflate; others are listed but cannot be opened. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  encrypted: boolean;
  crc32: number;
}

const LOCAL_HEADER = { signature: 0x04034b50, size: 30 };
const CENTRAL_HEADER = { signature: 0x02014b50, size: 46 };
const END_RECORD = { signature: 0x06054b50, size: 22 };
const ZIP64_LOCATOR = { signature: 0x07064b50, size: 20 };
const ZIP64_END_RECORD = { signature: 0x06064b50, size: 56 };
const ZIP64_EXTRA_ID = 0x0001;
/** A 32-bit size or offset with this value lives in the zip64 extra field (4.4.8). */
const IN_ZIP64 = 0xffffffff;
const MAX_COMMENT = 0xffff;
const READ_CHUNK = 1 << 20;
/** Local headers sit one per entry, often a large stored tensor apart: read a little around each rather than a MiB. */
const LOCAL_HEADERS_CHUNK = 16 << 10;

const METHOD_NAMES: Record<number, string> = { 1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz', 99: 'AES' };

/** Names without flag bit 11 are CP437 (appendix D); bytes below 0x80 are ASCII. */
const CP437_HIGH = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** True when the bytes open like a zip: a local file header, or the end record of an empty archive. */
export function looksLikeZip(firstBytes: Uint8Array): boolean {
  if (firstBytes.length < 4 || firstBytes[0] !== 0x50 || firstBytes[1] !== 0x4b) return false;
  return (firstBytes[2] === 0x03 && firstBytes[3] === 0x04) || (firstBytes[2] === 0x05 && firstBytes[3] === 0x06);
}

/** Lists the archive's entries from its central directory, in directory order. */
export async function readZipDirectory(source: ByteSource, options: { maxEntries: number }): Promise<ZipEntry[]> {
  const directory = await findCentralDirectory(source);
  if (directory.entries > options.maxEntries) {
    throw new ZipFormatError(`the archive declares ${directory.entries} entries, more than the ${options.maxEntries} allowed`);
  }
  const reader = new ChunkedReader(source, directory.offset + directory.size);
  const entries: ZipEntry[] = [];
  let at = directory.offset;
  for (let index = 0; index < directory.entries; index++) {
    const header = await reader.bytes(at, CENTRAL_HEADER.size, 'a central directory header');
    if (header.readUInt32LE(0) !== CENTRAL_HEADER.signature) throw new ZipFormatError(`no central directory header at offset ${at}`);
    const nameLength = header.readUInt16LE(28);
    const extraLength = header.readUInt16LE(30);
    const commentLength = header.readUInt16LE(32);
    const variable = await reader.bytes(at + CENTRAL_HEADER.size, nameLength + extraLength, 'a central directory header');
    const entry = centralEntry(header, variable.subarray(0, nameLength), variable.subarray(nameLength), at);
    if (entry.localHeaderOffset + LOCAL_HEADER.size + entry.compressedSize > source.size) {
      throw new ZipFormatError(`${entry.name} (central header at offset ${at}) has data past the end of the ${source.size}-byte file`);
    }
    entries.push(entry);
    at += CENTRAL_HEADER.size + nameLength + extraLength + commentLength;
  }
  // miniz stops at the declared count while CPython reads until the directory's size is used up;
  // a directory holding more headers than declared would show the two different entries.
  const end = directory.offset + directory.size;
  if (at + 4 <= end && (await reader.bytes(at, 4, 'the central directory')).readUInt32LE(0) === CENTRAL_HEADER.signature) {
    throw new ZipFormatError(`the central directory holds more entries than the ${directory.entries} its end record declares (offset ${at})`);
  }
  await refuseOverlaps(source, entries, directory.offset);
  return entries;
}

/**
 * Every entry's local header and data must lie apart from every other's and
 * before the central directory. Entries that share or overlap their bytes
 * let a few kilobytes declare gigabytes many times over (one deflate stream
 * named by 80 entries inflated to 16 GB), and let two readers see different
 * members; no zip writer produces them.
 */
async function refuseOverlaps(source: ByteSource, entries: ZipEntry[], directoryOffset: number): Promise<void> {
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const reader = new ChunkedReader(source, directoryOffset, LOCAL_HEADERS_CHUNK);
  let previous: { name: string; end: number } | undefined;
  for (const entry of byOffset) {
    if (previous && entry.localHeaderOffset < previous.end) {
      throw new ZipFormatError(
        `${entry.name} (local header at offset ${entry.localHeaderOffset}) overlaps ${previous.name}, which runs to offset ${previous.end}: entries may not share bytes`,
      );
    }
    const header = await reader.bytes(entry.localHeaderOffset, LOCAL_HEADER.size, `the local header of ${entry.name}`);
    if (header.readUInt32LE(0) !== LOCAL_HEADER.signature) throw new ZipFormatError(`no local header for ${entry.name} at offset ${entry.localHeaderOffset}`);
    const nameLength = header.readUInt16LE(26);
    const name = await reader.bytes(entry.localHeaderOffset + LOCAL_HEADER.size, nameLength, `the local header of ${entry.name}`);
    // CPython's zipfile refuses a member whose local name differs from the central one; a reader that does not would open another.
    const localName = header.readUInt16LE(6) & 0x0800 ? name.toString('utf8') : decodeCp437(name);
    if (localName !== entry.name) throw new ZipFormatError(`the local header at offset ${entry.localHeaderOffset} names "${localName}", the central directory "${entry.name}"`);
    const end = entry.localHeaderOffset + LOCAL_HEADER.size + nameLength + header.readUInt16LE(28) + entry.compressedSize;
    if (end > directoryOffset) throw new ZipFormatError(`the data of ${entry.name} runs to offset ${end}, into the central directory at ${directoryOffset}`);
    previous = { name: entry.name, end };
  }
}

/**
 * The member's bytes: a window onto `source` when stored, an inflated buffer
 * when deflated. `maxBytes` bounds inflation only; a stored member is never
 * copied, so its size is bounded by the file's.
 */
export async function openZipEntry(source: ByteSource, entry: ZipEntry, options: { maxBytes: number; budget?: InflateBudget }): Promise<ByteSource> {
  if (entry.encrypted) throw new ZipFormatError(`${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) {
    const known = METHOD_NAMES[entry.method];
    throw new ZipFormatError(`${entry.name} uses compression method ${entry.method}${known ? ` (${known})` : ''}; only stored (0) and deflate (8) are read`);
  }
  const dataStart = await locateData(source, entry);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new ZipFormatError(`${entry.name} is stored, yet declares ${entry.compressedSize} bytes stored and ${entry.uncompressedSize} unpacked`);
    }
    return sliceSource(source, dataStart, entry.compressedSize);
  }
  return bufferSource(await inflateBounded(sliceSource(source, dataStart, entry.compressedSize), entry, options.maxBytes, options.budget));
}

interface CentralDirectory {
  offset: number;
  size: number;
  entries: number;
}

/**
 * Finds the end of central directory record (4.3.16) by scanning back over a
 * comment of up to 65535 bytes, taking the last signature as miniz and
 * CPython both do; then the zip64 record (4.3.14), if a locator (4.3.15)
 * sits just before it, whose values replace the 16- and 32-bit ones. Only
 * layouts that miniz (PyTorch) and CPython's zipfile (numpy) read alike are
 * accepted.
 */
async function findCentralDirectory(source: ByteSource): Promise<CentralDirectory> {
  const found = await findEndRecord(source);
  if (!found) throw new ZipFormatError(`no end of central directory record in the last ${Math.min(source.size, END_RECORD.size + MAX_COMMENT)} bytes`);
  const { endOffset, end } = found;
  let directory: CentralDirectory = { entries: end.readUInt16LE(10), size: end.readUInt32LE(12), offset: end.readUInt32LE(16) };
  let directoryLimit = endOffset;

  const locatorOffset = endOffset - ZIP64_LOCATOR.size;
  if (locatorOffset >= 0) {
    const locator = await source.read(locatorOffset, ZIP64_LOCATOR.size);
    if (locator.readUInt32LE(0) === ZIP64_LOCATOR.signature) {
      const recordOffset = uint64(locator, 8, locatorOffset);
      // CPython's zipfile ignores the pointer and reads the record just before the locator; miniz follows it. Both must find the same one.
      if (recordOffset + ZIP64_END_RECORD.size !== locatorOffset) {
        throw new ZipFormatError(`the zip64 locator at offset ${locatorOffset} points to ${recordOffset}, not to the record just before it`);
      }
      const record = await source.read(recordOffset, ZIP64_END_RECORD.size);
      if (record.readUInt32LE(0) !== ZIP64_END_RECORD.signature) throw new ZipFormatError(`no zip64 end of central directory record at offset ${recordOffset}`);
      directory = { entries: uint64(record, 32, recordOffset), size: uint64(record, 40, recordOffset), offset: uint64(record, 48, recordOffset) };
      directoryLimit = recordOffset;
    }
  }
  // Bytes between the directory and its end record make CPython shift every offset by them (it takes them for data prepended to
  // the archive) while miniz does not: numpy and PyTorch would then read different members. Writers leave no gap.
  if (directory.offset + directory.size !== directoryLimit) {
    throw new ZipFormatError(`the central directory [${directory.offset}, +${directory.size}) does not end where its end record starts, at offset ${directoryLimit}`);
  }
  return directory;
}

/** The last end of central directory record in the file's last 64 KiB, as miniz and CPython both take it. */
async function findEndRecord(source: ByteSource): Promise<{ endOffset: number; end: Buffer } | undefined> {
  const tailLength = Math.min(source.size, END_RECORD.size + MAX_COMMENT);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const found = tail.lastIndexOf(signatureBytes(END_RECORD.signature), tailLength - END_RECORD.size);
  return found < 0 ? undefined : { endOffset: tailStart + found, end: tail.subarray(found, found + END_RECORD.size) };
}

/**
 * How many bytes precede a zip that does not start at byte 0, or null when
 * the file is no such zip. CPython's zipfile (and so `keras.saving`, which
 * asks `zipfile.is_zipfile`) reads a zip with data prepended, shifting every
 * offset by it; PyTorch and numpy do not, so no one reader's view can be
 * trusted. Only a zip whose shifted directory starts with a real central
 * header counts, so tensor bytes that hold the end signature by chance do not.
 */
export async function prependedZipLength(source: ByteSource): Promise<number | null> {
  const found = await findEndRecord(source);
  if (!found) return null;
  const { endOffset, end } = found;
  const [size, offset] = [end.readUInt32LE(12), end.readUInt32LE(16)];
  const prefix = endOffset - size - offset;
  if (prefix <= 0 || size < CENTRAL_HEADER.size || offset + prefix + 4 > source.size) return null;
  return (await source.read(offset + prefix, 4)).readUInt32LE(0) === CENTRAL_HEADER.signature ? prefix : null;
}

/** One central directory header (4.3.12), its sizes and offset taken from the zip64 extra field where marked. */
function centralEntry(header: Buffer, name: Buffer, extra: Buffer, at: number): ZipEntry {
  const flags = header.readUInt16LE(8);
  const entry: ZipEntry = {
    // Bit 11: the name is UTF-8 (4.4.4, appendix D).
    name: flags & 0x0800 ? name.toString('utf8') : decodeCp437(name),
    method: header.readUInt16LE(10),
    crc32: header.readUInt32LE(16),
    compressedSize: header.readUInt32LE(20),
    uncompressedSize: header.readUInt32LE(24),
    localHeaderOffset: header.readUInt32LE(42),
    // Bit 0: encrypted; bit 6: strong encryption (4.4.4). Method 99 is WinZip AES.
    encrypted: (flags & 0x0041) !== 0 || header.readUInt16LE(10) === 99,
  };
  const zip64 = extraField(extra, ZIP64_EXTRA_ID);
  if (zip64) {
    // Only the fields marked 0xFFFFFFFF are present, in this order (4.5.3).
    let next = 0;
    const take = (field: string) => {
      if (next + 8 > zip64.length) throw new ZipFormatError(`the zip64 extra field of ${entry.name} (central header at offset ${at}) lacks its ${field}`);
      const value = uint64(zip64, next, at);
      next += 8;
      return value;
    };
    if (entry.uncompressedSize === IN_ZIP64) entry.uncompressedSize = take('uncompressed size');
    if (entry.compressedSize === IN_ZIP64) entry.compressedSize = take('compressed size');
    if (entry.localHeaderOffset === IN_ZIP64) entry.localHeaderOffset = take('local header offset');
  }
  return entry;
}

/** The data of extra field `id` (4.5.1), or null if absent. */
function extraField(extra: Buffer, id: number): Buffer | null {
  for (let at = 0; at + 4 <= extra.length;) {
    const size = extra.readUInt16LE(at + 2);
    if (extra.readUInt16LE(at) === id) return extra.subarray(at + 4, Math.min(extra.length, at + 4 + size));
    at += 4 + size;
  }
  return null;
}

/** Where the member's data starts: after the local header, whose name and extra lengths may differ from the central ones (PyTorch pads the local extra to align data). */
async function locateData(source: ByteSource, entry: ZipEntry): Promise<number> {
  const at = entry.localHeaderOffset;
  if (at + LOCAL_HEADER.size > source.size) throw new ZipFormatError(`the local header of ${entry.name} at offset ${at} lies past the end of the file`);
  const header = await source.read(at, LOCAL_HEADER.size);
  if (header.readUInt32LE(0) !== LOCAL_HEADER.signature) throw new ZipFormatError(`no local header for ${entry.name} at offset ${at}`);
  const dataStart = at + LOCAL_HEADER.size + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (dataStart + entry.compressedSize > source.size) {
    throw new ZipFormatError(`the data of ${entry.name} [${dataStart}, +${entry.compressedSize}) lies past the end of the ${source.size}-byte file`);
  }
  return dataStart;
}

/**
 * Inflates a deflate stream as it is read, stopping as soon as the output
 * passes the declared size or `maxBytes`, or the scan's budget runs out, so
 * neither a bomb's output nor a huge compressed input is ever held whole.
 */
async function inflateBounded(compressed: ByteSource, entry: ZipEntry, maxBytes: number, budget?: InflateBudget): Promise<Buffer> {
  const limit = Math.min(entry.uncompressedSize, maxBytes);
  const parts: Buffer[] = [];
  let inflated = 0;
  try {
    await pipeline(
      async function* () {
        for (let at = 0; at < compressed.size; at += READ_CHUNK) yield await compressed.read(at, Math.min(READ_CHUNK, compressed.size - at));
      },
      createInflateRaw({ chunkSize: 64 * 1024 }),
      async (output: AsyncIterable<Buffer>) => {
        for await (const part of output) {
          inflated += part.length;
          if (inflated > limit) {
            const bound = entry.uncompressedSize <= maxBytes ? `the ${entry.uncompressedSize} bytes it declares` : `the ${maxBytes}-byte limit`;
            throw new ZipBombError(`${entry.name} (local header at offset ${entry.localHeaderOffset}) inflates past ${bound}`);
          }
          budget?.charge(part.length, entry.name);
          parts.push(part);
        }
      },
    );
  } catch (error) {
    const zlibCode = (error as { code?: unknown }).code;
    if (typeof zlibCode === 'string' && zlibCode.startsWith('Z_')) {
      throw new ZipFormatError(`${entry.name} (local header at offset ${entry.localHeaderOffset}) has a broken deflate stream: ${(error as Error).message}`);
    }
    throw error;
  }
  return Buffer.concat(parts, inflated);
}

/** Reads headers a chunk at a time rather than twice per entry, never past `end`. */
class ChunkedReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly end: number,
    private readonly chunkSize = READ_CHUNK,
  ) {}

  async bytes(offset: number, length: number, what: string): Promise<Buffer> {
    if (offset + length > this.end) throw new ZipFormatError(`${what} at offset ${offset} runs past offset ${this.end}, where it must end`);
    if (offset < this.chunkStart || offset + length > this.chunkStart + this.chunk.length) {
      this.chunkStart = offset;
      this.chunk = await this.source.read(offset, Math.max(length, Math.min(this.chunkSize, this.end - offset)));
    }
    return this.chunk.subarray(offset - this.chunkStart, offset - this.chunkStart + length);
  }
}

function uint64(bytes: Buffer, offset: number, recordOffset: number): number {
  const value = bytes.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`a 64-bit size or offset in the record at offset ${recordOffset} is beyond 2^53`);
  return Number(value);
}

function signatureBytes(signature: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(signature);
  return bytes;
}

function decodeCp437(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return text;
}
