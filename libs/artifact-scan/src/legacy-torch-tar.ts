import { sliceSource, type ByteSource } from './byte-source';
import type { SecurityFinding } from './finding';
import { locate, scanPickles, type PickleScanOptions, type ScanPlace } from './pickle-scanner';
import type { TarMember } from './tar-reader';

/**
 * torch.save's first format, which torch.load still reads (`legacy_load`,
 * tried on any file that is not a zip): a tar holding `sys_info`, `pickle`,
 * `storages` and `tensors`. The last two interleave pickles with raw bytes,
 * so they are read as torch reads them: a pickled count, then per storage a
 * pickled (key, location, storage type), an 8-byte element count and the
 * elements; then the storage views. `tensors` is a count, then per tensor a
 * pickle and its shape, strides and offset as raw integers.
 */
const MEMBERS = ['storages', 'tensors', 'pickle'];

/** Bytes per element of each storage class torch writes (torch._utils._element_size). */
const ELEMENT_SIZES: Record<string, number> = {
  DoubleStorage: 8,
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
  ComplexDoubleStorage: 16,
  ComplexFloatStorage: 8,
  QUInt8Storage: 1,
  QInt8Storage: 1,
  QInt32Storage: 4,
  QUInt4x2Storage: 1,
  QUInt2x4Storage: 1,
};

export function isLegacyTorchTar(members: readonly TarMember[]): boolean {
  return MEMBERS.every((name) => members.some((member) => member.name === name && member.type === 'file'));
}

class LegacyLayoutError extends Error {}

/** Scans a legacy tar checkpoint's `storages` or `tensors` member; anything torch would read differently fails closed. */
export async function scanLegacyTorchMember(member: TarMember, place: ScanPlace, options: PickleScanOptions): Promise<SecurityFinding[]> {
  const findings: SecurityFinding[] = [];
  const reader = new MemberReader(member.data, place, options, findings);
  try {
    const count = await reader.count();
    for (let index = 0; index < count; index++) {
      const imports = await reader.pickle();
      if (member.name === 'storages') {
        const type = imports.find((global) => (global.module === 'torch' || global.module === 'torch.cuda') && global.name in ELEMENT_SIZES);
        if (!type) throw new LegacyLayoutError(`storage ${index} names no storage type torch knows the element size of`);
        await reader.skip((await reader.int64()) * ELEMENT_SIZES[type.name]);
      } else {
        const dimensions = await reader.int32();
        // Then 4 bytes legacy torch wrote for an 8-byte ndim, sizes, strides and the storage offset.
        await reader.skip(4 + 16 * dimensions + 8);
      }
    }
    if (member.name === 'storages') await reader.pickle();
  } catch (error) {
    if (!(error instanceof LegacyLayoutError)) throw error;
    findings.push({
      severity: 'HIGH',
      rule: 'legacy_torch_unreadable',
      file: place.file,
      location: locate(place, `byte ${reader.offset}`),
      why: `it is laid out as a legacy torch.save tar, yet cannot be followed as torch.load reads it (${error.message}), so what it holds is not known to be safe`,
    });
  }
  return findings;
}

/** Walks one member the way torch's legacy_load reads it from the extracted file. */
class MemberReader {
  offset = 0;
  private lastPickle = { start: 0, end: 0 };

  constructor(
    private readonly source: ByteSource,
    private readonly place: ScanPlace,
    private readonly options: PickleScanOptions,
    private readonly findings: SecurityFinding[],
  ) {}

  /** One pickle from here, judged like any other; returns what it imports. */
  async pickle(): Promise<{ module: string; name: string }[]> {
    const rest = sliceSource(this.source, this.offset, this.source.size - this.offset);
    const scan = await scanPickles(rest, { ...this.place, path: [...this.place.path, `pickle at byte ${this.offset}`] }, { ...this.options, maxPickles: 1 });
    this.findings.push(...scan.findings);
    if (scan.end === null) throw new LegacyLayoutError('a pickle there does not end');
    this.lastPickle = { start: this.offset, end: this.offset + scan.end };
    this.offset += scan.end;
    return scan.imports;
  }

  /** A pickled int, as torch writes the number of storages or tensors. */
  async count(): Promise<number> {
    await this.pickle();
    const bytes = await this.source.read(this.lastPickle.start, this.lastPickle.end - this.lastPickle.start);
    const value = pickledInt(bytes);
    // Every entry takes at least a byte, so a count beyond the member's size is a lie.
    if (value === null || value < 0 || value > this.source.size) throw new LegacyLayoutError('the count there is not a plain pickled int torch writes');
    return value;
  }

  async int64(): Promise<number> {
    const value = (await this.read(8)).readBigInt64LE(0);
    if (value < 0n || value > BigInt(this.source.size)) throw new LegacyLayoutError(`an element count of ${value} does not fit the member`);
    return Number(value);
  }

  async int32(): Promise<number> {
    const value = (await this.read(4)).readInt32LE(0);
    if (value < 0 || value > 64) throw new LegacyLayoutError(`a tensor of ${value} dimensions`);
    return value;
  }

  async skip(length: number): Promise<void> {
    if (this.offset + length > this.source.size) throw new LegacyLayoutError(`${length} bytes of raw data run past the member's end`);
    this.offset += length;
  }

  private async read(length: number): Promise<Buffer> {
    if (this.offset + length > this.source.size) throw new LegacyLayoutError('the member ends inside a raw integer');
    const bytes = await this.source.read(this.offset, length);
    this.offset += length;
    return bytes;
  }
}

/** The int a pickle of one int holds (optional PROTO, BININT1/BININT2/BININT/LONG1/INT, STOP), or null for any other pickle. */
function pickledInt(bytes: Buffer): number | null {
  const body = bytes[0] === 0x80 ? bytes.subarray(2) : bytes;
  if (body[body.length - 1] !== 0x2e) return null;
  const argument = body.subarray(1, -1);
  switch (body[0]) {
    case 0x4b:
      return argument.length === 1 ? argument[0] : null;
    case 0x4d:
      return argument.length === 2 ? argument.readUInt16LE(0) : null;
    case 0x4a:
      return argument.length === 4 ? argument.readInt32LE(0) : null;
    case 0x8a: {
      const length = argument[0];
      if (argument.length !== length + 1 || length > 6) return null;
      return length === 0 ? 0 : argument.subarray(1).readIntLE(0, length);
    }
    case 0x49:
      return /^\d+\n$/.test(argument.toString('latin1')) ? Number(argument.toString('latin1')) : null;
    default:
      return null;
  }
}
