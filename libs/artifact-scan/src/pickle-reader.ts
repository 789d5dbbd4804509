/**
 * Reads pickle opcodes (protocols 0-5) without unpickling anything, and lists
 * every global a pickle would import. It keeps a shadow of the unpickler's
 * stack and memo holding only strings, tuples and imports, so STACK_GLOBAL's
 * module and name are resolved through any memo indirection, and the storage
 * keys a torch checkpoint's persistent ids name are known; a global it cannot
 * resolve is reported as unknown. Every pickle concatenated in the input is
 * read; a pickle that breaks mid-way keeps the globals found before the break.
 *
 * The reading is a superset of CPython's: wherever one of its unpicklers (C
 * `_pickle` or the pure-Python `pickle._Unpickler` joblib uses, on a file or
 * on bytes) reads on, so does this reader, and it stops only where all of
 * them stop too: an unknown opcode, a stack or memo miss, a refused decoding.
 * Frames are the one place the unpicklers disagree (C ignores their bounds,
 * Python enforces them but takes a short frame): the reader reads on as C
 * does and records the first inconsistency, which the scan refuses.
 */

/** A global the pickle imports: what `find_class(module, name)` would be asked for, as written. */
export interface PickleGlobal {
  module: string;
  name: string;
  /** Byte offset of the opcode that imports it. */
  offset: number;
  opcode: 'GLOBAL' | 'INST' | 'STACK_GLOBAL' | 'EXT';
  /** True when module or name could not be read from the pickle (computed at load time, or an extension code). */
  unknown: boolean;
  /** The protocol its pickle's PROTO declared (0 without one): below 3 the unpickler maps Python 2 names first. */
  protocol: number;
  /** True when an opcode called it or acted on it (REDUCE, NEWOBJ, OBJ, INST, BUILD, APPEND, SETITEM…): an import nothing uses is not a pickle's. */
  called: boolean;
}

/**
 * Why reading stopped: `format` where CPython's unpicklers stop too,
 * `truncated` where the input ran out, `limit` where this reader gives up
 * while CPython may read on (a memo index on a line of over a MiB).
 */
export type PickleErrorKind = 'format' | 'truncated' | 'limit';

export interface PickleReading {
  globals: PickleGlobal[];
  /** Complete pickles read (each ends with STOP). */
  pickles: number;
  /** Opcodes read in full, across all pickles. */
  opcodes: number;
  /** Where and why reading stopped before the end of the input. */
  error: { offset: number; message: string; kind: PickleErrorKind } | null;
  /** The first place its frames disagree with the opcodes in them, which CPython's unpicklers read differently. */
  frameAnomaly: { offset: number; message: string } | null;
  /** Bytes consumed: the end of the last complete pickle. */
  end: number;
  /** True when the input opens with a PROTO opcode, as every pickle of protocol 2 or later does. */
  declaresProtocol: boolean;
  /** True when the input opens with a FRAME (after PROTO) whose length fits it, as protocol 4 and 5 pickles do; random bytes about never do. */
  opensWithFrame: boolean;
  /** Keys of the `('storage', type, key, location, size)` persistent ids a torch checkpoint's pickle names. */
  storageKeys: string[];
}

type Shadow = { text: string } | { items: Shadow[] } | { global: PickleGlobal } | typeof OTHER | typeof MARK;
const OTHER = Symbol('value');
const MARK = Symbol('mark');

/** The highest protocol CPython reads (pickle.HIGHEST_PROTOCOL since 3.8). */
const HIGHEST_PROTOCOL = 5;

class PickleFormatError extends Error {
  readonly kind: PickleErrorKind = 'format';
}
class PickleTruncatedError extends PickleFormatError {
  override readonly kind = 'truncated';
}
class PickleLimitError extends PickleFormatError {
  override readonly kind = 'limit';
}

/** True when the bytes open with a PROTO opcode CPython accepts. */
function declaresProtocol(first: Uint8Array): boolean {
  return first.length >= 2 && first[0] === 0x80 && first[1] <= HIGHEST_PROTOCOL;
}

/**
 * True when the stream reads as a pickle rather than as other bytes that
 * happen to start with opcode-like bytes: it opens with a frame that fits,
 * or declares a protocol and then imports something, ends a pickle or reads
 * eight opcodes; without a protocol, it calls what it imports, imports and
 * stops, or reads sixteen opcodes. Random tensor bytes and text files do
 * none of these, and an import they seem to hold was never going to run.
 */
export function readsAsPickle(reading: PickleReading): boolean {
  if (reading.opensWithFrame) return true;
  // An extension code is a single opcode byte with its argument, as likely in random bytes as any; an import by name is not.
  if (reading.declaresProtocol) return reading.globals.some((global) => global.opcode !== 'EXT' || global.called) || reading.pickles > 0 || reading.opcodes >= 8;
  return reading.globals.some((global) => global.called) || (reading.pickles > 0 && reading.globals.length > 0) || reading.opcodes >= 16;
}

/** Reads up to `maxPickles` pickles from `bytes` (all of them by default), all in memory. */
export function readPickles(bytes: Uint8Array, maxPickles = Infinity): PickleReading {
  const reader = new OpcodeReader(bytes.length);
  reader.window(bytes, 0);
  const machine = new PickleMachine(reader, maxPickles, declaresProtocol(bytes));
  machine.run();
  return machine.reading;
}

/** The size of the windows a stream is read through. */
const WINDOW_BYTES = 1024 * 1024;

/**
 * Reads up to `maxPickles` pickles from `source` through windows of a MiB,
 * so only opcodes are ever read: the payload of a BINBYTES (or any argument
 * no import can use) is stepped over, never loaded. `tooLarge` when reading
 * them would take more than `maxBytes` of reads.
 */
export async function readPickleSource(
  source: { size: number; read(offset: number, length: number): Promise<Uint8Array> },
  options: { maxBytes: number; maxPickles?: number },
): Promise<{ reading: PickleReading; tooLarge: boolean }> {
  const reader = new OpcodeReader(source.size);
  let start = 0;
  let length = Math.min(source.size, WINDOW_BYTES);
  let bytes = await source.read(start, length);
  // What reading costs is the bytes read, not how far the stream reaches: payloads stepped over are free.
  let read = length;
  const machine = new PickleMachine(reader, options.maxPickles ?? Infinity, declaresProtocol(bytes));
  for (;;) {
    reader.window(bytes, start);
    const need = machine.run();
    if (!need) return { reading: machine.reading, tooLarge: false };
    if (need.lineFrom !== undefined) {
      const found = await findNewline(source, need.lineFrom, options.maxBytes - read);
      if (!found) return { reading: machine.reading, tooLarge: true };
      read += found.read;
      reader.lineEnds.set(need.lineFrom, found.newline);
    }
    start = need.offset;
    length = Math.min(source.size - start, Math.max(WINDOW_BYTES, need.length));
    read += length;
    if (read > options.maxBytes) return { reading: machine.reading, tooLarge: true };
    bytes = await source.read(start, length);
  }
}

/** The offset of the first newline at or after `from` (-1 when the input ends first), reading at most `budget` bytes; undefined past it. */
async function findNewline(
  source: { size: number; read(offset: number, length: number): Promise<Uint8Array> },
  from: number,
  budget: number,
): Promise<{ newline: number; read: number } | undefined> {
  let read = 0;
  for (let at = from; at < source.size; at += WINDOW_BYTES) {
    const length = Math.min(WINDOW_BYTES, source.size - at);
    read += length;
    if (read > budget) return undefined;
    const found = (await source.read(at, length)).indexOf(0x0a);
    if (found >= 0) return { newline: at + found, read };
  }
  return { newline: -1, read };
}

/** Strings longer than this are never a module or a name worth reading: they are stepped over, and an import of one is unknown. */
const MAX_NAME_BYTES = 64 * 1024;
/** Text arguments whose content is read (import names, memo indices) are read up to this long. */
const MAX_TEXT_LINE_BYTES = WINDOW_BYTES;

/** The unpickler's state, kept across windows: an opcode that runs past the window is read again, whole, from the next. */
class PickleMachine {
  readonly reading: PickleReading;
  private inPickle = false;
  private stack: Shadow[] = [];
  private memo = new Map<number, Shadow>();
  private protocol = 0;

  constructor(
    private readonly reader: OpcodeReader,
    private readonly maxPickles: number,
    opensWithProtocol: boolean,
  ) {
    this.reading = { globals: [], pickles: 0, opcodes: 0, error: null, frameAnomaly: null, end: 0, declaresProtocol: opensWithProtocol, opensWithFrame: false, storageKeys: [] };
    reader.onFrameAnomaly = (offset, message) => (this.reading.frameAnomaly ??= { offset, message });
  }

  /** Reads until the input ends, `maxPickles` are read or the stream breaks (null), or until it needs bytes outside the window. */
  run(): OutsideWindow | null {
    const { reader, reading } = this;
    try {
      for (;;) {
        if (!this.inPickle) {
          if (reader.offset >= reader.size || reading.pickles >= this.maxPickles) return null;
          this.startPickle();
        }
        if (this.step()) {
          this.inPickle = false;
          reading.pickles++;
          reading.end = reader.offset;
        }
      }
    } catch (error) {
      if (error instanceof OutsideWindow) {
        reader.offset = reader.opcodeOffset;
        return error;
      }
      if (!(error instanceof PickleFormatError)) throw error;
      reading.error = { offset: reader.opcodeOffset, message: error.message, kind: error.kind };
      return null;
    }
  }

  private startPickle(): void {
    this.inPickle = true;
    this.stack = [];
    this.memo = new Map();
    this.protocol = 0;
  }

  /** The opcode acts on what it popped or found: an import among those was used. */
  private uses(...values: Shadow[]): void {
    for (const value of values) if (typeof value === 'object' && 'global' in value) value.global.called = true;
  }

  // As in CPython, a MARK fences off the stack below it: only POP_MARK and the opcodes that collect a mark's items reach past it.
  private pop(): Shadow {
    const { stack } = this;
    if (stack.length === 0 || stack[stack.length - 1] === MARK) throw new PickleFormatError('unpickling stack underflow');
    return stack.pop()!;
  }

  private popMark(): Shadow[] {
    const at = this.stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleFormatError('could not find MARK');
    return this.stack.splice(at).slice(1);
  }

  private top(): Shadow {
    const value = this.pop();
    this.stack.push(value);
    return value;
  }

  /** Opcodes that add to the object below what they pop (APPEND, SETITEM, BUILD…) need it there, and act on it. */
  private below(): void {
    this.uses(this.top());
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw new PickleFormatError(`memo value not found at index ${index}`);
    this.stack.push(this.memo.get(index)!);
  }

  private found(module: string, name: string, opcode: PickleGlobal['opcode'], unknown = false): Shadow {
    const global: PickleGlobal = { module, name, offset: this.reader.opcodeOffset, opcode, unknown, protocol: this.protocol, called: false };
    this.reading.globals.push(global);
    return { global };
  }

  /** A string argument of `length` bytes: read when it could be a name, stepped over when it could not. */
  private text(length: number, decode: (bytes: Uint8Array) => string): Shadow {
    if (length > MAX_NAME_BYTES) {
      this.reader.skip(length);
      return OTHER;
    }
    return { text: decode(this.reader.take(length)) };
  }

  /** Executes one opcode on the shadow state; true when it was STOP. */
  private step(): boolean {
    const { reader, stack, memo } = this;
    const code = reader.opcode();
    // One opcode per line, as pickletools lists them.
    // prettier-ignore
    switch (code) {
      case 0x80: { // PROTO
        const protocol = reader.uint(1);
        if (protocol > HIGHEST_PROTOCOL) throw new PickleFormatError(`unsupported pickle protocol: ${protocol}`);
        this.protocol = protocol;
        break;
      }
      case 0x95: // FRAME
        if (reader.frame(reader.uint(8)) && this.reading.pickles === 0 && this.reading.opcodes <= 1) this.reading.opensWithFrame = true;
        break;
      case 0x2e: // STOP
        this.pop();
        reader.endOfPickle();
        this.reading.opcodes++;
        return true;
      case 0x28: stack.push(MARK); break;
      case 0x30: if (stack[stack.length - 1] === MARK) this.popMark(); else this.pop(); break; // POP: on a bare mark, pops the mark
      case 0x31: this.popMark(); break; // POP_MARK
      case 0x32: stack.push(this.top()); break; // DUP
      // Values that are never a module or a name.
      case 0x4e: case 0x88: case 0x89: case 0x29: case 0x5d: case 0x7d: case 0x8f: stack.push(OTHER); break;
      case 0x97: stack.push(OTHER); break; // NEXT_BUFFER
      case 0x98: this.top(); break; // READONLY_BUFFER
      case 0x46: case 0x49: case 0x4c: reader.skipLine(); stack.push(OTHER); break; // FLOAT INT LONG
      case 0x4a: reader.skip(4); stack.push(OTHER); break; // BININT
      case 0x4b: reader.skip(1); stack.push(OTHER); break; // BININT1
      case 0x4d: reader.skip(2); stack.push(OTHER); break; // BININT2
      case 0x47: reader.skip(8); stack.push(OTHER); break; // BINFLOAT
      case 0x8a: reader.skip(reader.uint(1)); stack.push(OTHER); break; // LONG1
      case 0x8b: reader.skip(reader.int32('LONG')); stack.push(OTHER); break; // LONG4
      // Strings: module and name for STACK_GLOBAL come from these.
      case 0x53: { // STRING
        const text = reader.shortLine();
        stack.push(text === null ? OTHER : { text: unescapeString(unquote(text)) });
        break;
      }
      case 0x54: stack.push(this.text(reader.int32('BINSTRING'), latin1)); break; // BINSTRING
      case 0x55: stack.push(this.text(reader.uint(1), latin1)); break; // SHORT_BINSTRING
      case 0x56: { // UNICODE
        const text = reader.shortLine();
        stack.push(text === null ? OTHER : { text: unescapeRawUnicode(text) });
        break;
      }
      case 0x58: stack.push(this.text(reader.uint(4), utf8SurrogatePass)); break; // BINUNICODE
      case 0x8c: stack.push(this.text(reader.uint(1), utf8SurrogatePass)); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(this.text(reader.uint(8), utf8SurrogatePass)); break; // BINUNICODE8
      case 0x42: reader.skip(reader.uint(4)); stack.push(OTHER); break; // BINBYTES
      case 0x43: reader.skip(reader.uint(1)); stack.push(OTHER); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: reader.skip(reader.uint(8)); stack.push(OTHER); break; // BINBYTES8 BYTEARRAY8
      // Containers.
      case 0x74: stack.push({ items: this.popMark() }); break; // TUPLE
      case 0x6c: case 0x64: case 0x91: this.popMark(); stack.push(OTHER); break; // LIST DICT FROZENSET
      case 0x85: stack.push({ items: [this.pop()] }); break; // TUPLE1
      case 0x86: { const second = this.pop(); stack.push({ items: [this.pop(), second] }); break; } // TUPLE2
      case 0x87: { const third = this.pop(); const second = this.pop(); stack.push({ items: [this.pop(), second, third] }); break; } // TUPLE3
      case 0x61: this.pop(); this.below(); break; // APPEND
      case 0x73: this.pop(); this.pop(); this.below(); break; // SETITEM
      case 0x65: case 0x75: case 0x90: this.popMark(); this.below(); break; // APPENDS SETITEMS ADDITEMS
      // Memo.
      case 0x70: { // PUT
        const at = pythonInt(reader.line('latin1', 'memo index'));
        if (at < 0) throw new PickleFormatError('negative PUT argument');
        memo.set(at, this.top());
        break;
      }
      case 0x71: memo.set(reader.uint(1), this.top()); break; // BINPUT
      case 0x72: memo.set(reader.uint(4), this.top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, this.top()); break; // MEMOIZE
      case 0x67: this.get(pythonInt(reader.line('latin1', 'memo index'))); break; // GET
      case 0x68: this.get(reader.uint(1)); break; // BINGET
      case 0x6a: this.get(reader.uint(4)); break; // LONG_BINGET
      // Imports and calls. find_class runs before INST collects its mark, so the import happens even when that fails.
      case 0x63: { // GLOBAL
        const module = reader.line('utf8', 'import name');
        stack.push(this.found(module, reader.line('utf8', 'import name'), 'GLOBAL'));
        break;
      }
      case 0x69: { // INST
        const module = reader.line('ascii', 'import name');
        const found = this.found(module, reader.line('ascii', 'import name'), 'INST');
        this.popMark();
        this.uses(found);
        stack.push(OTHER);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        const text = (value: Shadow) => (typeof value === 'object' && 'text' in value ? value.text : null);
        const [m, n] = [text(module), text(name)];
        stack.push(this.found(m ?? '?', n ?? '?', 'STACK_GLOBAL', m === null || n === null));
        break;
      }
      case 0x82: reader.skip(1); stack.push(this.found('?', '?', 'EXT', true)); break; // EXT1
      case 0x83: reader.skip(2); stack.push(this.found('?', '?', 'EXT', true)); break; // EXT2
      case 0x84: reader.skip(4); stack.push(this.found('?', '?', 'EXT', true)); break; // EXT4
      case 0x6f: { // OBJ: the class is the first item after the mark
        const items = this.popMark();
        if (items.length === 0) throw new PickleFormatError('OBJ without a class');
        this.uses(items[0]);
        stack.push(OTHER);
        break;
      }
      case 0x52: { // REDUCE
        this.pop();
        this.uses(this.pop());
        stack.push(OTHER);
        break;
      }
      case 0x81: { // NEWOBJ
        this.pop();
        this.uses(this.pop());
        stack.push(OTHER);
        break;
      }
      case 0x92: { // NEWOBJ_EX
        this.pop();
        this.pop();
        this.uses(this.pop());
        stack.push(OTHER);
        break;
      }
      case 0x62: this.pop(); this.below(); break; // BUILD
      case 0x50: reader.skipLine(); stack.push(OTHER); break; // PERSID
      case 0x51: { // BINPERSID
        const key = storageKey(this.pop());
        if (key !== undefined) this.reading.storageKeys.push(key);
        stack.push(OTHER);
        break;
      }
      default:
        throw new PickleFormatError(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
    }
    reader.endOfOpcode();
    this.reading.opcodes++;
    return false;
  }
}

/** `('storage', storage_type, key, location, numel)`, as torch.save writes a storage's persistent id. */
function storageKey(id: Shadow): string | undefined {
  if (typeof id !== 'object' || !('items' in id) || id.items.length < 3) return undefined;
  const [kind, , key] = id.items;
  const text = (value: Shadow) => (typeof value === 'object' && 'text' in value ? value.text : undefined);
  return text(kind) === 'storage' ? text(key) : undefined;
}

/** The opcode at `offset` needs `length` bytes from there, and the window ends first; or it needs the end of the line from `lineFrom` found. */
class OutsideWindow extends Error {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly lineFrom?: number,
  ) {
    super('the opcode reaches past the window');
    this.name = 'OutsideWindow';
  }
}

/**
 * The input as a sequence of opcodes and their arguments, seen through a
 * window of it; reading past the input's end is a format error, past the
 * window's end a request for the next one. Frames are held to what CPython's
 * file unpickler accepts, which is also all any pickler writes: an opcode
 * ends inside the frame it starts in, a frame is used up before the next
 * begins, and a pickle stops only where its frame ends.
 */
class OpcodeReader {
  offset = 0;
  opcodeOffset = 0;
  /** Where the newline after a line starting at the key lies (-1: none before the end), found beyond the window by the driver. */
  readonly lineEnds = new Map<number, number>();
  onFrameAnomaly: (offset: number, message: string) => void = () => undefined;
  private bytes: Uint8Array = new Uint8Array(0);
  private start = 0;
  private frameEnd: number | null = null;

  constructor(readonly size: number) {}

  window(bytes: Uint8Array, start: number): void {
    this.bytes = bytes;
    this.start = start;
  }

  opcode(): number {
    this.opcodeOffset = this.offset;
    return this.take(1)[0];
  }

  take(length: number): Uint8Array {
    this.reach(length);
    const at = this.offset - this.start;
    this.offset += length;
    return this.bytes.subarray(at, at + length);
  }

  /** Steps over an argument no import can use, without its bytes in the window. */
  skip(length: number): void {
    if (length < 0 || this.offset + length > this.size) throw new PickleTruncatedError('truncated: the pickle ends inside an opcode');
    this.offset += length;
  }

  private reach(length: number): void {
    if (length < 0 || this.offset + length > this.size) throw new PickleTruncatedError('truncated: the pickle ends inside an opcode');
    if (this.offset < this.start || this.offset + length > this.start + this.bytes.length) throw new OutsideWindow(this.opcodeOffset, this.offset + length - this.opcodeOffset);
  }

  /** Little-endian unsigned integer of 1, 2, 4 or 8 bytes. */
  uint(size: 1 | 2 | 4 | 8): number {
    const bytes = this.take(size);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[i];
    if (!Number.isSafeInteger(value)) throw new PickleFormatError('length out of range');
    return value;
  }

  /** A signed 4-byte length, which CPython refuses when negative. */
  int32(what: string): number {
    const bytes = this.take(4);
    const value = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24);
    if (value < 0) throw new PickleFormatError(`${what} pickle has negative byte count`);
    return value;
  }

  /**
   * A protocol 0 argument whose content matters: up to the next newline,
   * decoded as the opcode's reader decodes it. At the end of the input
   * without one, CPython's readline gives what is left, and `[:-1]` drops
   * its last byte: so does this. One longer than MAX_TEXT_LINE_BYTES is
   * refused as `overlong` says: an import name that long finds no module,
   * as CPython would find none; a memo index that long is beyond the reader.
   */
  line(encoding: 'latin1' | 'utf8' | 'ascii', overlong: 'import name' | 'memo index'): string {
    const raw = this.lineBytes(overlong);
    if (encoding === 'latin1') return latin1(raw);
    if (encoding === 'ascii' && raw.some((byte) => byte > 0x7f)) throw new PickleFormatError('a text argument that must be ASCII is not');
    try {
      return STRICT_UTF8.decode(raw);
    } catch {
      throw new PickleFormatError('a text argument is not valid UTF-8');
    }
  }

  /** A STRING or UNICODE argument: its text when it is short enough to be a name, else null, stepped over. */
  shortLine(): string | null {
    this.reach(0);
    const at = this.offset - this.start;
    const newline = this.bytes.indexOf(0x0a, at);
    if (newline >= 0 && newline - at <= MAX_NAME_BYTES) return latin1(this.lineBytes('import name'));
    this.skipLine();
    return null;
  }

  private lineBytes(overlong: 'import name' | 'memo index'): Uint8Array {
    this.reach(0);
    const at = this.offset - this.start;
    const newline = this.bytes.indexOf(0x0a, at);
    if (newline >= 0) {
      this.offset = this.start + newline + 1;
      return this.bytes.subarray(at, newline);
    }
    const windowEnd = this.start + this.bytes.length;
    if (windowEnd >= this.size) {
      this.offset = this.size;
      return this.bytes.subarray(at, Math.max(at, this.bytes.length - 1));
    }
    if (windowEnd - this.offset >= MAX_TEXT_LINE_BYTES) {
      const why = `a text argument over ${MAX_TEXT_LINE_BYTES} bytes`;
      if (overlong === 'import name') throw new PickleFormatError(`${why}: no module has a name that long`);
      throw new PickleLimitError(`${why} where a memo index goes, beyond what the scan reads`);
    }
    throw new OutsideWindow(this.opcodeOffset, windowEnd - this.opcodeOffset + MAX_TEXT_LINE_BYTES);
  }

  /** Steps over a protocol 0 argument nothing reads (a number, a persistent id, a long string), however long, holding none of it. */
  skipLine(): void {
    this.reach(0);
    const known = this.lineEnds.get(this.offset);
    if (known !== undefined) {
      this.offset = known < 0 ? this.size : known + 1;
      return;
    }
    const newline = this.bytes.indexOf(0x0a, this.offset - this.start);
    const windowEnd = this.start + this.bytes.length;
    if (newline >= 0) this.offset = this.start + newline + 1;
    else if (windowEnd >= this.size) this.offset = this.size;
    else throw new OutsideWindow(this.opcodeOffset, 1, this.offset);
  }

  /** Opens a frame; false when it is inconsistent, which is recorded, and the reading goes on as C's unpickler's does, past frame bounds. */
  frame(length: number): boolean {
    if (this.frameEnd !== null && this.offset < this.frameEnd) return this.anomaly('beginning of a new frame before end of current frame');
    this.endOfOpcode();
    if (this.offset + length > this.size) return this.anomaly(`the frame declares ${length} bytes, more than the input holds`);
    // The FRAME opcode itself lies outside the frame it opens.
    this.frameEnd = length === 0 ? null : this.offset + length;
    return true;
  }

  endOfOpcode(): void {
    if (this.frameEnd === null) return;
    if (this.offset > this.frameEnd) this.anomaly(`an opcode runs past the end of its frame at byte ${this.frameEnd}`);
    else if (this.offset === this.frameEnd) this.frameEnd = null;
  }

  endOfPickle(): void {
    this.endOfOpcode();
    if (this.frameEnd !== null) this.anomaly(`the pickle stops ${this.frameEnd - this.offset} bytes before the end of its frame`);
  }

  private anomaly(message: string): false {
    this.onFrameAnomaly(this.opcodeOffset, message);
    this.frameEnd = null;
    return false;
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A memo index as CPython parses it (`int()`, `PyLong_FromString`): ASCII whitespace around, a sign, digits with single underscores. */
function pythonInt(text: string): number {
  const parsed = /^[ \t\n\r\v\f]*([+-]?)(\d+(?:_\d+)*)[ \t\n\r\v\f]*$/.exec(text);
  if (!parsed) throw new PickleFormatError(`bad memo index "${text.slice(0, 40)}"`);
  const value = Number(parsed[2].replaceAll('_', ''));
  return parsed[1] === '-' ? -value : value;
}

/** CPython refuses a STRING argument without matching quotes around it. */
function unquote(text: string): string {
  const quoted = /^(['"])(.*)\1$/s.exec(text);
  if (!quoted) throw new PickleFormatError('the STRING opcode argument must be quoted');
  return quoted[2];
}

/**
 * The text CPython decodes a protocol 0 STRING to (its string-escape codec):
 * `S'o\\x73'` names module `os`, so escapes must be read as the unpickler reads them.
 */
function unescapeString(text: string): string {
  let trailing = 0;
  while (trailing < text.length && text[text.length - 1 - trailing] === '\\') trailing++;
  if (trailing % 2 === 1) throw new PickleFormatError('trailing \\ in a STRING argument');
  const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/gs, (escape: string, code: string) => {
    if (code === 'x') throw new PickleFormatError('invalid \\x escape in a STRING argument');
    if (code[0] === 'x') return String.fromCharCode(parseInt(code.slice(1), 16));
    if (/^[0-7]/.test(code)) return String.fromCharCode(parseInt(code, 8) & 0xff);
    return simple[code] ?? escape;
  });
}

/**
 * raw-unicode-escape, as CPython decodes a protocol 0 UNICODE argument:
 * `Vo\\u0073` is `os`. A backslash escapes the character after it, so only
 * `\\u` and `\\U` after an odd run of backslashes are escapes; one without
 * its hex digits is CPython's error too. One pass, so no run of backslashes
 * costs more than its length.
 */
function unescapeRawUnicode(text: string): string {
  let decoded = '';
  for (let at = 0; at < text.length;) {
    const char = text[at++];
    if (char !== '\\' || at >= text.length) {
      decoded += char;
      continue;
    }
    const next = text[at++];
    const digits = next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (digits === 0) {
      decoded += char + next;
      continue;
    }
    const hex = text.slice(at, at + digits);
    if (hex.length < digits || !/^[0-9a-fA-F]+$/.test(hex)) throw new PickleFormatError(`truncated \\${next} escape in a UNICODE argument`);
    const point = parseInt(hex, 16);
    if (point > 0x10ffff) throw new PickleFormatError('a \\U escape beyond U+10FFFF in a UNICODE argument');
    decoded += String.fromCodePoint(point);
    at += digits;
  }
  return decoded;
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** UTF-8-encoded surrogates (ED A0-BF xx), which CPython's `surrogatepass` accepts and strict UTF-8 refuses. */
const ENCODED_SURROGATE = /\xed[\xa0-\xbf][\x80-\xbf]/g;

/**
 * BINUNICODE's `str(data, 'utf-8', 'surrogatepass')`: any other invalid
 * byte ends the pickle there, as it does CPython's. Surrogates, which no
 * importable name holds, read as U+FFFD.
 */
function utf8SurrogatePass(bytes: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const withoutSurrogates = Buffer.from(latin1(bytes).replace(ENCODED_SURROGATE, '\xef\xbf\xbd'), 'latin1');
    try {
      return STRICT_UTF8.decode(withoutSurrogates);
    } catch {
      throw new PickleFormatError('a string is not valid UTF-8');
    }
  }
}
