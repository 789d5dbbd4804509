/**
 * Reads the attributes of an HDF5 file's root group, which is all a scan of a
 * legacy Keras `.h5` needs: Keras keeps the model's config there
 * (`model_config`, `training_config`) and the weights in groups below. The
 * reader follows only the structures on the way to those attributes, reads
 * them through a ByteSource, so a file of gigabytes of weights costs a few
 * small reads, and refuses, rather than guesses, anything it does not read
 * exactly. Section names refer to the HDF5 File Format Specification 3.0.
 */
import type { ByteSource } from './byte-source';

/** The bytes are not HDF5 this reader can follow; the message says what and where. */
export class Hdf5FormatError extends Error {
  override name = 'Hdf5FormatError';
}

export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The value of one root attribute: a scalar string as its bytes, or a description of what else it is. */
export type Hdf5AttributeValue = { kind: 'string'; bytes: Buffer } | { kind: 'other'; description: string };

/** One attribute of the root group; its value is read only when asked for. */
export interface Hdf5Attribute {
  name: string;
  read(maxBytes: number): Promise<Hdf5AttributeValue>;
}

const MESSAGE = { continuation: 0x0010, attribute: 0x000c, attributeInfo: 0x0015 } as const;
/** Message flag bit 1 (IV.A.1): the message lives in the shared message table or another header. */
const SHARED_MESSAGE = 0x02;
/** Bounds on what a hostile header can make the reader walk. */
const MAX_HEADER_CHUNKS = 1024;
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Global heap object indices are 16 bits (III.E), so no collection has more objects. */
const MAX_HEAP_OBJECTS = 0x10000;

/**
 * Where the superblock starts: at 0, or after a user block at 512, 1024,
 * 2048, … — the offsets the HDF5 library itself searches (H5FD_locate_signature).
 */
export async function findSuperblock(source: ByteSource): Promise<number | undefined> {
  for (let at = 0; at + HDF5_SIGNATURE.length <= source.size; at = at === 0 ? 512 : at * 2) {
    if ((await source.read(at, HDF5_SIGNATURE.length)).equals(HDF5_SIGNATURE)) return at;
  }
  return undefined;
}

/** Lists the root group's attributes, in header order. Throws {@link Hdf5FormatError} when any of them cannot be read exactly. */
export async function readRootAttributes(source: ByteSource): Promise<Hdf5Attribute[]> {
  const superblock = await findSuperblock(source);
  if (superblock === undefined) throw new Hdf5FormatError('no HDF5 signature at byte 0 or at any power of two from 512 on');
  const file = await HdfFile.open(source, superblock);
  const messages = await file.objectHeaderMessages(file.rootAddress);
  const info = messages.find((message) => message.type === MESSAGE.attributeInfo);
  if (info && file.denseStorageInUse(info)) {
    throw new Hdf5FormatError('the root group keeps attributes in dense storage (a fractal heap), which this reader does not follow');
  }
  return messages.filter((message) => message.type === MESSAGE.attribute).map((message) => file.attribute(message));
}

interface Message {
  type: number;
  flags: number;
  data: Buffer;
  /** File address of the message's data, for error messages. */
  address: number;
}

/** A bounds-checked little-endian reader over one buffer. */
class Cursor {
  constructor(
    private readonly buffer: Buffer,
    public position: number,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buffer.length - this.position;
  }

  take(length: number): Buffer {
    if (length < 0 || length > this.remaining) throw new Hdf5FormatError(`${this.what} ends ${length - this.remaining} bytes early`);
    const bytes = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return bytes;
  }

  u8 = () => this.take(1)[0];
  u16 = () => this.take(2).readUInt16LE(0);
  u32 = () => this.take(4).readUInt32LE(0);

  /** An unsigned integer of `size` bytes; `undefined` when every bit is set (the undefined address, II.A). */
  uint(size: number): number | undefined {
    const bytes = this.take(size);
    if (bytes.every((byte) => byte === 0xff)) return undefined;
    let value = 0n;
    for (let index = size - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Hdf5FormatError(`${this.what} holds ${value}, past what this reader addresses`);
    return Number(value);
  }
}

class HdfFile {
  private constructor(
    private readonly source: ByteSource,
    /** Addresses are relative to the superblock, wherever the user block put it (H5F__super_read does the same). */
    private readonly base: number,
    private readonly offsetSize: number,
    private readonly lengthSize: number,
    readonly rootAddress: number,
  ) {}

  /** The superblock (II.A): versions 0 and 1 reach the root through a symbol table entry, 2 and 3 name its object header. */
  static async open(source: ByteSource, base: number): Promise<HdfFile> {
    const head = new Cursor(await source.read(base, Math.min(source.size - base, 128)), 8, 'the superblock');
    const version = head.u8();
    if (version <= 1) {
      head.take(4); // free-space, root symbol table entry and shared header versions, reserved
      const [offsetSize, lengthSize] = [head.u8(), head.u8()];
      checkSizes(offsetSize, lengthSize);
      head.take(1 + 4 + 4 + (version === 1 ? 4 : 0)); // reserved, group K values, flags, indexed storage K
      head.take(4 * offsetSize); // base, free-space, end-of-file and driver addresses
      head.take(offsetSize); // root entry: link name offset
      const root = head.uint(offsetSize);
      if (root === undefined) throw new Hdf5FormatError('the superblock names no root group');
      return new HdfFile(source, base, offsetSize, lengthSize, root);
    }
    if (version === 2 || version === 3) {
      const [offsetSize, lengthSize] = [head.u8(), head.u8()];
      checkSizes(offsetSize, lengthSize);
      head.take(1 + 3 * offsetSize); // flags, base, extension and end-of-file addresses
      const root = head.uint(offsetSize);
      if (root === undefined) throw new Hdf5FormatError('the superblock names no root group');
      return new HdfFile(source, base, offsetSize, lengthSize, root);
    }
    throw new Hdf5FormatError(`superblock version ${version} is not one HDF5 writes (0 to 3)`);
  }

  /** `length` bytes at file address `address`, refused when they lie outside the file. */
  private async bytes(address: number, length: number, what: string): Promise<Buffer> {
    const at = this.base + address;
    if (length < 0 || at + length > this.source.size) throw new Hdf5FormatError(`${what} at address ${address} (+${length}) lies past the end of the file`);
    return this.source.read(at, length);
  }

  /** Every message of the object header at `address`, following continuation blocks (IV.A.1.a, IV.A.1.b). */
  async objectHeaderMessages(address: number): Promise<Message[]> {
    const start = await this.bytes(address, Math.min(this.source.size - this.base - address, 34), 'the object header');
    const messages: Message[] = [];
    const chunks: { address: number; length: number }[] = [];
    let version: 1 | 2;
    let trackOrder = false;
    if (start.subarray(0, 4).toString('latin1') === 'OHDR') {
      version = 2;
      const head = new Cursor(start, 4, 'the object header');
      if (head.u8() !== 2) throw new Hdf5FormatError(`object header at ${address} has an unknown version`);
      const flags = head.u8();
      trackOrder = (flags & 0x04) !== 0;
      if (flags & 0x20) head.take(16); // access, modification, change and birth times
      if (flags & 0x10) head.take(4); // attribute phase change values
      const chunkSize = head.uint(1 << (flags & 0x03));
      if (chunkSize === undefined) throw new Hdf5FormatError(`object header at ${address} has no size`);
      chunks.push({ address: address + head.position, length: chunkSize });
    } else if (start[0] === 1) {
      version = 1;
      const head = new Cursor(start, 8, 'the object header');
      // Version, reserved, message count and reference count, then the size; messages start 8-byte aligned, at 16.
      chunks.push({ address: address + 16, length: head.u32() });
    } else {
      throw new Hdf5FormatError(`no object header at address ${address}`);
    }
    const seen = new Set<number>();
    let total = 0;
    for (let index = 0; index < chunks.length; index++) {
      const chunk = chunks[index];
      if (seen.has(chunk.address)) throw new Hdf5FormatError(`object header continuation at ${chunk.address} is reached twice`);
      seen.add(chunk.address);
      total += chunk.length;
      if (chunks.length > MAX_HEADER_CHUNKS || total > MAX_HEADER_BYTES)
        throw new Hdf5FormatError(`the root object header runs past ${MAX_HEADER_CHUNKS} blocks or ${MAX_HEADER_BYTES} bytes`);
      let bytes = await this.bytes(chunk.address, chunk.length, 'an object header block');
      let dataAddress = chunk.address;
      // Chunk 0's size counts only its messages; a version 2 continuation block also holds its signature and checksum.
      if (version === 2 && index > 0) {
        if (bytes.length < 8 || bytes.subarray(0, 4).toString('latin1') !== 'OCHK')
          throw new Hdf5FormatError(`object header continuation at ${chunk.address} has no OCHK signature`);
        bytes = bytes.subarray(4, bytes.length - 4);
        dataAddress += 4;
      }
      const body = new Cursor(bytes, 0, `the object header block at ${chunk.address}`);
      const headerSize = version === 1 ? 8 : trackOrder ? 6 : 4;
      // Fewer bytes than a message header left at the end of a block are a gap (IV.A.1.b).
      while (body.remaining >= headerSize) {
        const type = version === 1 ? body.u16() : body.u8();
        const size = body.u16();
        const flags = body.u8();
        body.take(headerSize - (version === 1 ? 5 : 4));
        const messageAddress = dataAddress + body.position;
        const data = body.take(size);
        if (type === MESSAGE.continuation) {
          const cursor = new Cursor(data, 0, 'a continuation message');
          const next = cursor.uint(this.offsetSize);
          const length = cursor.uint(this.lengthSize);
          if (next === undefined || length === undefined) throw new Hdf5FormatError(`continuation message at ${messageAddress} points nowhere`);
          chunks.push({ address: next, length });
        } else {
          messages.push({ type, flags, data, address: messageAddress });
        }
      }
    }
    return messages;
  }

  /** Attribute info (IV.A.2.v): attributes are in a fractal heap when its address is defined. */
  denseStorageInUse(info: Message): boolean {
    const cursor = new Cursor(info.data, 0, 'the attribute info message');
    cursor.u8();
    const flags = cursor.u8();
    if (flags & 0x01) cursor.u16();
    return cursor.uint(this.offsetSize) !== undefined;
  }

  /** The attribute message (IV.A.2.m), versions 1 to 3; its name is read now, its value on demand. */
  attribute(message: Message): Hdf5Attribute {
    const where = `the attribute message at ${message.address}`;
    if (message.flags & SHARED_MESSAGE) throw new Hdf5FormatError(`${where} is shared, stored outside the root header`);
    const cursor = new Cursor(message.data, 0, where);
    const version = cursor.u8();
    if (version < 1 || version > 3) throw new Hdf5FormatError(`${where} has unknown version ${version}`);
    const flags = cursor.u8();
    if (version > 1 && flags & 0x03) throw new Hdf5FormatError(`${where} uses a shared datatype or dataspace`);
    const [nameSize, datatypeSize, dataspaceSize] = [cursor.u16(), cursor.u16(), cursor.u16()];
    if (version === 3) cursor.u8(); // name encoding
    const pad = (size: number) => (version === 1 ? Math.ceil(size / 8) * 8 : size);
    const nameBytes = cursor.take(pad(nameSize)).subarray(0, nameSize);
    const end = nameBytes.indexOf(0);
    const name = decodeUtf8(nameBytes.subarray(0, end < 0 ? nameBytes.length : end), `${where}: its name`);
    const datatype = cursor.take(pad(datatypeSize)).subarray(0, datatypeSize);
    const dataspace = cursor.take(pad(dataspaceSize)).subarray(0, dataspaceSize);
    const value = message.data.subarray(cursor.position);
    return { name, read: (maxBytes) => this.stringValue(datatype, dataspace, value, maxBytes, `attribute ${name}`) };
  }

  /** A scalar string attribute's bytes: fixed-length ones inline, variable-length ones from the global heap. */
  private async stringValue(datatype: Buffer, dataspace: Buffer, value: Buffer, maxBytes: number, what: string): Promise<Hdf5AttributeValue> {
    const shape = dataspaceShape(dataspace, this.lengthSize, what);
    if (shape !== 'scalar') return { kind: 'other', description: `a ${shape} dataspace, not a scalar` };
    const type = new Cursor(datatype, 0, `${what}: its datatype`);
    const classAndVersion = type.u8();
    const bits = type.take(3);
    const size = type.u32();
    const typeClass = classAndVersion & 0x0f;
    if (typeClass === 3) {
      if (size > maxBytes) throw new Hdf5FormatError(`${what} is ${size} bytes, over the ${maxBytes} the scan reads`);
      return { kind: 'string', bytes: new Cursor(value, 0, `${what}: its value`).take(size) };
    }
    if (typeClass === 9 && (bits[0] & 0x0f) === 1) {
      const reference = new Cursor(value, 0, `${what}: its value`);
      const length = reference.u32();
      const collection = reference.uint(this.offsetSize);
      const index = reference.u32();
      if (length === 0) return { kind: 'string', bytes: Buffer.alloc(0) };
      if (collection === undefined) throw new Hdf5FormatError(`${what} points to no global heap`);
      if (length > maxBytes) throw new Hdf5FormatError(`${what} is ${length} bytes, over the ${maxBytes} the scan reads`);
      return { kind: 'string', bytes: await this.globalHeapObject(collection, index, length, what) };
    }
    return { kind: 'other', description: `HDF5 datatype class ${typeClass}, not a string` };
  }

  /** Object `index` of the global heap collection at `address` (III.E), its first `length` bytes. */
  private async globalHeapObject(address: number, index: number, length: number, what: string): Promise<Buffer> {
    const head = new Cursor(await this.bytes(address, 8 + this.lengthSize, 'a global heap collection'), 0, 'a global heap collection');
    if (head.take(4).toString('latin1') !== 'GCOL' || head.u8() !== 1) throw new Hdf5FormatError(`${what} points to ${address}, which is no global heap collection`);
    head.take(3);
    const collectionSize = head.uint(this.lengthSize);
    if (collectionSize === undefined) throw new Hdf5FormatError(`the global heap collection at ${address} has no size`);
    const objectHeaderSize = 8 + this.lengthSize;
    let at = address + 8 + this.lengthSize;
    for (let walked = 0; walked < MAX_HEAP_OBJECTS && at + objectHeaderSize <= address + collectionSize; walked++) {
      const object = new Cursor(await this.bytes(at, objectHeaderSize, 'a global heap object'), 0, 'a global heap object');
      const objectIndex = object.u16();
      object.take(6); // reference count, reserved
      const objectSize = object.uint(this.lengthSize) ?? Infinity;
      if (objectIndex === 0) break; // free space, always last
      if (objectIndex === index) {
        if (length > objectSize) throw new Hdf5FormatError(`${what} claims ${length} bytes of a ${objectSize}-byte heap object`);
        return this.bytes(at + objectHeaderSize, length, `${what}: its heap object`);
      }
      at += objectHeaderSize + Math.ceil(objectSize / 8) * 8;
    }
    throw new Hdf5FormatError(`${what} names heap object ${index}, which the collection at ${address} does not hold`);
  }
}

function checkSizes(offsetSize: number, lengthSize: number): void {
  if (![2, 4, 8].includes(offsetSize) || ![2, 4, 8].includes(lengthSize)) {
    throw new Hdf5FormatError(`the superblock declares ${offsetSize}-byte addresses and ${lengthSize}-byte lengths; HDF5 writes 2, 4 or 8`);
  }
}

/** The dataspace message (IV.A.2.b): scalar, null, or simple with its dimensions. */
function dataspaceShape(dataspace: Buffer, lengthSize: number, what: string): string {
  const cursor = new Cursor(dataspace, 0, `${what}: its dataspace`);
  const version = cursor.u8();
  const rank = cursor.u8();
  cursor.u8();
  if (version === 1) {
    cursor.take(5);
    if (rank === 0) return 'scalar';
  } else if (version === 2) {
    const type = cursor.u8();
    if (type === 0) return 'scalar';
    if (type === 2) return 'null';
  } else {
    throw new Hdf5FormatError(`${what} has dataspace version ${version}`);
  }
  const dimensions = Array.from({ length: rank }, () => cursor.uint(lengthSize) ?? Infinity);
  return `[${dimensions.join(', ')}]`;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new Hdf5FormatError(`${what} is not UTF-8`);
  }
}
