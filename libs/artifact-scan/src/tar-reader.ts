import { posix } from 'node:path';
import { unsafeArchivePath } from './archive-paths';
import { bufferSource, sliceSource, type ByteSource } from './byte-source';

/** The archive is one that loaders read differently from this reader, or one unsafe to extract; the scan refuses it. */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

export type TarMemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'fifo';

export interface TarMember {
  /** As CPython's tarfile (what torch.load's legacy reader uses) names it: pax `path`, GNU long name, or ustar prefix and name. */
  name: string;
  type: TarMemberType;
  /** The header's type flag as written: '0', '5', 'x'… A flag tarfile does not know is a file, as tarfile reads it. */
  typeFlag: string;
  size: number;
  /** Offset of the member's first header: its pax or GNU long-name header when it has one. */
  headerOffset: number;
  dataOffset: number;
  /** The member's bytes, a window of the archive; empty for anything but a file. */
  data: ByteSource;
  /** For symlinks and hardlinks: the name linked to, as written (pax `linkpath` or GNU long link included). */
  linkName?: string;
}

const BLOCK = 512;
const EMPTY = bufferSource(Buffer.alloc(0));
/** Pax, global pax and GNU long-name headers before one member; writers put at most three. */
const MAX_HEADER_CHAIN = 8;
const MAX_PAX_BYTES = 1 << 20;
const MAX_LONG_NAME_BYTES = 1 << 16;
/** Links followed from one link to the member whose bytes a reader of it gets. */
const MAX_LINK_HOPS = 8;

/** tarfile's SUPPORTED_TYPES that are not files: it skips no data after them. */
const NON_FILE_TYPES: Record<string, TarMemberType> = { '1': 'hardlink', '2': 'symlink', '3': 'device', '4': 'device', '5': 'directory', '6': 'fifo' };
const GNU_LONG_FLAGS = new Set(['L', 'K']);
const PAX_FLAGS = new Set(['x', 'X', 'g']);

/** The numeric header fields tarfile parses, all of which must be valid for it to accept the header. */
const NUMERIC_FIELDS = [
  ['mode', 100, 8],
  ['uid', 108, 8],
  ['gid', 116, 8],
  ['size', 124, 12],
  ['mtime', 136, 12],
  ['checksum', 148, 8],
  ['devmajor', 329, 8],
  ['devminor', 337, 8],
] as const;

/**
 * True when the first block is a header CPython's tarfile accepts (every
 * numeric field readable, the checksum right), so `torch.load` takes the file
 * for a legacy tar checkpoint. Pass at least the first 512 bytes.
 */
export function looksLikeTar(firstBytes: Uint8Array): boolean {
  if (firstBytes.length < BLOCK) return false;
  const block = Buffer.from(firstBytes.buffer, firstBytes.byteOffset, BLOCK);
  try {
    return parseHeader(block, 0) !== null;
  } catch (error) {
    if (error instanceof TarFormatError) return false;
    throw error;
  }
}

/**
 * Lists a ustar, pax or GNU tar's members as CPython's tarfile reads them,
 * without copying their data, stopping at the first all-zero block. Refuses
 * (TarFormatError) what tarfile and GNU tar would read differently and what
 * is unsafe to extract: a bad checksum, data past the end, sparse members,
 * names that escape the extraction directory and links that point outside it.
 */
export async function readTarMembers(source: ByteSource, options: { maxEntries: number }): Promise<TarMember[]> {
  const members: TarMember[] = [];
  const globalPax = new Map<string, string>();
  let offset = 0;
  while (offset < source.size) {
    if (source.size - offset < BLOCK) throw new TarFormatError(`the ${source.size - offset} bytes at offset ${offset} are not a whole 512-byte header`);
    const read = await readMember(source, offset, globalPax, 0);
    if (!read) break;
    if (members.length === options.maxEntries) throw new TarFormatError(`the archive has more than the ${options.maxEntries} members allowed`);
    checkSafe(read.member);
    members.push(read.member);
    offset = read.next;
  }
  return members;
}

/**
 * The member whose bytes a reader of link `member` gets, as tarfile finds it
 * when it extracts a link: a symlink's target anywhere in the archive, a
 * hardlink's among the members before it, the last of that name; undefined if
 * there is none (the loader then reads nothing there).
 */
export function resolveTarLink(members: readonly TarMember[], member: TarMember): TarMember | undefined {
  let current = member;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    if (current.linkName === undefined) return current;
    const symbolic = current.type === 'symlink';
    const wanted = normalise(symbolic ? [posix.dirname(current.name), current.linkName].filter((part) => part && part !== '.').join('/') : current.linkName);
    const limit = symbolic ? members.length : members.indexOf(current);
    const candidates = members.slice(0, limit < 0 ? members.length : limit);
    const found = candidates.reverse().find((candidate) => normalise(candidate.name) === wanted);
    if (!found) return undefined;
    current = found;
  }
  return undefined;
}

/** posixpath.normpath as tarfile uses it to match link targets. */
function normalise(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

interface Header {
  name: string;
  typeFlag: string;
  size: number;
  linkName: string;
}

interface MemberRead {
  member: TarMember;
  /** Where tarfile reads the next header. */
  next: number;
}

/** One member and the headers before it, applied the way tarfile's `_proc_member` nests them: the outermost header wins. */
async function readMember(source: ByteSource, offset: number, globalPax: Map<string, string>, depth: number): Promise<MemberRead | null> {
  if (offset + BLOCK > source.size) throw new TarFormatError(`the header at offset ${offset} runs past the end of the ${source.size}-byte archive`);
  const header = parseHeader(await source.read(offset, BLOCK), offset);
  if (!header) {
    if (depth > 0) throw new TarFormatError(`the header at offset ${offset}, which the headers before it describe, is empty`);
    return null;
  }
  if (header.size < 0 || !Number.isSafeInteger(header.size)) throw new TarFormatError(`the header at offset ${offset} declares an impossible size, ${header.size}`);
  const flag = header.typeFlag;
  if (flag === 'S') throw new TarFormatError(`${header.name} (header at offset ${offset}) is a GNU sparse member, which the scan does not reassemble`);
  if (!GNU_LONG_FLAGS.has(flag) && !PAX_FLAGS.has(flag)) return builtinMember(source, header, offset, globalPax);

  if (depth === MAX_HEADER_CHAIN) throw new TarFormatError(`more than ${MAX_HEADER_CHAIN} pax or long-name headers in a row at offset ${offset}`);
  const cap = GNU_LONG_FLAGS.has(flag) ? MAX_LONG_NAME_BYTES : MAX_PAX_BYTES;
  if (header.size > cap) throw new TarFormatError(`the '${flag}' header at offset ${offset} declares ${header.size} bytes, more than the ${cap} allowed`);
  const padded = blocks(header.size);
  if (offset + BLOCK + padded > source.size) throw new TarFormatError(`the '${flag}' header at offset ${offset} runs past the end of the archive`);
  // tarfile reads the whole padded blocks, and parses pax records across the padding too.
  const data = await source.read(offset + BLOCK, padded);
  const nextHeader = offset + BLOCK + padded;

  if (GNU_LONG_FLAGS.has(flag)) {
    const inner = await readMember(source, nextHeader, globalPax, depth + 1);
    if (!inner) throw new TarFormatError(`the GNU long-name header at offset ${offset} is followed by no member`);
    const value = nulTerminated(data);
    if (flag === 'L') inner.member.name = inner.member.type === 'directory' ? value.replace(/\/$/, '') : value;
    else if (inner.member.linkName !== undefined) inner.member.linkName = value;
    inner.member.headerOffset = offset;
    return inner;
  }

  const pax = flag === 'g' ? globalPax : new Map(globalPax);
  for (const [key, value] of paxRecords(data, offset)) pax.set(key, value);
  if (flag === 'g' && pax.has('size'))
    throw new TarFormatError(`the global pax header at offset ${offset} sets a size, which tarfile applies to later members without moving past their data`);
  if ([...pax.keys()].some((key) => key.startsWith('GNU.sparse.')))
    throw new TarFormatError(`the pax header at offset ${offset} describes a GNU sparse member, which the scan does not reassemble`);
  const inner = await readMember(source, nextHeader, globalPax, depth + 1);
  if (!inner) throw new TarFormatError(`the pax header at offset ${offset} is followed by no member`);
  if (flag !== 'g') {
    const member = applyPax(inner.member, pax, offset);
    member.headerOffset = offset;
    if (pax.has('size')) inner.next = member.dataOffset + (member.type === 'file' ? blocks(member.size) : 0);
    inner.member = withData(source, member, inner.next);
  }
  return inner;
}

/** A member's own header, with the global pax records applied as tarfile's `_proc_builtin` does. */
function builtinMember(source: ByteSource, header: Header, offset: number, globalPax: Map<string, string>): MemberRead {
  const type = NON_FILE_TYPES[header.typeFlag] ?? 'file';
  const dataOffset = offset + BLOCK;
  const next = dataOffset + (type === 'file' ? blocks(header.size) : 0);
  const member: TarMember = {
    name: type === 'directory' ? header.name.replace(/\/+$/, '') : header.name,
    type,
    typeFlag: header.typeFlag,
    size: header.size,
    headerOffset: offset,
    dataOffset,
    data: EMPTY,
    ...(type === 'symlink' || type === 'hardlink' ? { linkName: header.linkName } : {}),
  };
  return { member: withData(source, applyPax(member, globalPax, offset), next), next };
}

/** The member with its data window, once its size is final. */
function withData(source: ByteSource, member: TarMember, next: number): TarMember {
  // tarfile reads the next header right after a non-file's header, whatever size it declares; GNU tar skips that size.
  if (member.type !== 'file') {
    if (member.size > 0) {
      throw new TarFormatError(
        `${member.name} (header at offset ${member.headerOffset}) is a ${member.type} that declares ${member.size} bytes of data, which tarfile and GNU tar read differently`,
      );
    }
    return { ...member, data: EMPTY };
  }
  if (member.dataOffset + member.size > source.size) {
    throw new TarFormatError(`the data of ${member.name} [${member.dataOffset}, +${member.size}) lies past the end of the ${source.size}-byte archive`);
  }
  // tarfile refuses an archive whose last member lacks its padding, and torch.load then reads the file as a bare pickle.
  if (next > source.size) throw new TarFormatError(`the data of ${member.name} is not padded to a whole block before the end of the archive`);
  return { ...member, data: sliceSource(source, member.dataOffset, member.size) };
}

/** The pax records tarfile applies to a member: `path`, `linkpath` and `size` (the others name owners and times). */
function applyPax(member: TarMember, pax: Map<string, string>, offset: number): TarMember {
  const applied = { ...member };
  const path = pax.get('path');
  if (path !== undefined) applied.name = path.replace(/\/+$/, '');
  const linkPath = pax.get('linkpath');
  if (linkPath !== undefined && applied.linkName !== undefined) applied.linkName = linkPath;
  const size = pax.get('size');
  if (size !== undefined) {
    if (!/^[0-9]+$/.test(size) || !Number.isSafeInteger(Number(size)))
      throw new TarFormatError(`the pax header at offset ${offset} gives the size '${size}', not a whole number of bytes`);
    applied.size = Number(size);
  }
  return applied;
}

/** Records `"<length> <key>=<value>\n"` as tarfile's `_proc_pax` matches them, refusing the malformed ones it would misread. */
function paxRecords(data: Buffer, offset: number): [string, string][] {
  const records: [string, string][] = [];
  // latin1 keeps one character per byte, so string indices are byte offsets.
  const text = data.toString('latin1');
  const opening = /([0-9]+) ([^=]+)=/y;
  let at = 0;
  while (at < data.length) {
    opening.lastIndex = at;
    const match = opening.exec(text);
    // tarfile stops at the first bytes that do not open a record: the block's NUL padding.
    if (!match) break;
    const length = Number(match[1]);
    const valueStart = opening.lastIndex;
    if (length === 0 || at + length > data.length || valueStart > at + length - 1 || data[at + length - 1] !== 0x0a) {
      throw new TarFormatError(`the pax record at offset ${offset + BLOCK + at} is malformed: its length ${match[1]} does not end on a newline after its key`);
    }
    records.push([data.subarray(at + match[1].length + 1, valueStart - 1).toString('utf8'), data.subarray(valueStart, at + length - 1).toString('utf8')]);
    at += length;
  }
  return records;
}

/** A header block, or null for the all-zero block that ends the archive; fields read as tarfile's `frombuf` reads them. */
function parseHeader(block: Buffer, offset: number): Header | null {
  if (block.every((byte) => byte === 0)) return null;
  const numbers: Partial<Record<(typeof NUMERIC_FIELDS)[number][0], number>> = {};
  for (const [field, start, length] of NUMERIC_FIELDS) numbers[field] = numericField(block.subarray(start, start + length), field, offset);
  let unsigned = 256;
  let signed = 256;
  for (let at = 0; at < BLOCK; at++) {
    if (at >= 148 && at < 156) continue;
    unsigned += block[at];
    signed += block[at] < 0x80 ? block[at] : block[at] - 0x100;
  }
  if (numbers.checksum !== unsigned && numbers.checksum !== signed) {
    throw new TarFormatError(`the header at offset ${offset} has a bad checksum (${numbers.checksum}, computed ${unsigned})`);
  }
  const size = numbers.size!;
  const typeFlag = String.fromCharCode(block[156]);
  let name = nulTerminated(block.subarray(0, 100));
  // tarfile: a V7 regular file whose name ends in '/' is a directory; a ustar prefix joins any header but GNU's own.
  const flag = typeFlag === '\0' && name.endsWith('/') ? '5' : typeFlag;
  const prefix = nulTerminated(block.subarray(345, 500));
  if (prefix && !GNU_LONG_FLAGS.has(flag) && flag !== 'S') name = `${prefix}/${name}`;
  return { name, typeFlag: flag, size, linkName: nulTerminated(block.subarray(157, 257)) };
}

/** tarfile's `nti`: base-256 when the first byte is 0x80 or 0xff, else what Python's `int(text.strip() or "0", 8)` reads of the ASCII up to the first NUL. */
function numericField(bytes: Buffer, field: string, offset: number): number {
  if (bytes[0] === 0x80 || bytes[0] === 0xff) {
    let value = 0n;
    for (const byte of bytes.subarray(1)) value = (value << 8n) | BigInt(byte);
    if (bytes[0] === 0xff) value -= 1n << BigInt(8 * (bytes.length - 1));
    return Number(value);
  }
  const end = bytes.indexOf(0);
  const text = bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
  // Python's str.strip() also strips \x1c-\x1f.
  const digits = text.replace(/^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$/g, '');
  if (digits === '') return 0;
  // int(…, 8) takes a sign, a 0o prefix and single underscores between digits.
  const octal = /^([+-]?)(?:0[oO]_?)?([0-7](?:_?[0-7])*)$/.exec(digits);
  if (!octal) throw new TarFormatError(`the ${field} field of the header at offset ${offset} is not an octal number: ${JSON.stringify(text)}`);
  const value = parseInt(octal[2].replaceAll('_', ''), 8);
  return octal[1] === '-' ? -value : value;
}

function checkSafe(member: TarMember): void {
  const unsafe = unsafeArchivePath(member.name);
  if (unsafe) throw new TarFormatError(`the member name ${JSON.stringify(member.name)} (header at offset ${member.headerOffset}) ${unsafe}`);
  if (member.linkName === undefined) return;
  const base = member.type === 'symlink' ? posix.dirname(member.name) : '';
  const escape = linkEscape(member.linkName, base);
  if (escape)
    throw new TarFormatError(
      `the ${member.type} ${JSON.stringify(member.name)} (header at offset ${member.headerOffset}) points to ${JSON.stringify(member.linkName)}, which ${escape}`,
    );
}

/** Why following `linkName` from directory `base` leaves the extraction directory, or null if it stays inside. */
function linkEscape(linkName: string, base: string): string | null {
  if (linkName === '') return 'is empty';
  const segments = linkName.split(/[\\/]/);
  // '..' may stay inside, which the walk below decides; every other rule holds for links as for names.
  const unsafe = unsafeArchivePath(segments.filter((segment) => !/^[. ]+$/.test(segment)).join('/'));
  if (unsafe) return unsafe;
  const depth = base.split('/').filter((segment) => segment && segment !== '.');
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    // Windows trims trailing dots and spaces: take any segment of only those as '..'.
    if (/^[. ]+$/.test(segment)) {
      if (depth.length === 0) return 'leaves the directory the archive is extracted to';
      depth.pop();
    } else depth.push(segment);
  }
  return null;
}

function nulTerminated(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

function blocks(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
