/**
 * Reads pickle opcodes (protocols 0-5) without unpickling anything, and lists
 * every global a pickle would import. It keeps a shadow of the unpickler's
 * stack and memo holding only strings, tuples and imports, so STACK_GLOBAL's
 * module and name are resolved through any memo indirection, and the storage
 * keys a torch checkpoint's persistent ids name are known; a global it cannot
 * resolve is reported as unknown. Every pickle concatenated in the input is
 * read; a pickle that breaks mid-way keeps the globals found before the break.
 *
 * The reading follows CPython's file unpickler (Lib/pickle.py, _Unpickler and
 * _Unframer) wherever the two could disagree on where an opcode starts: the
 * stack fence a MARK puts up, argument lengths and their signs, quoting and
 * text encodings, and frames. A stream CPython would read differently from a
 * file than from bytes (a FRAME whose length disagrees with the opcodes in
 * it) is refused, not guessed at.
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
  /** True when another opcode was read after it: a stream that breaks right after a "global" was never a pickle that used it. */
  followed: boolean;
}

export interface PickleReading {
  globals: PickleGlobal[];
  /** Complete pickles read (each ends with STOP). */
  pickles: number;
  /** Opcodes read in full, across all pickles. */
  opcodes: number;
  /** Where and why reading stopped before the end of the input; `truncated` when the input ran out mid-pickle. */
  error: { offset: number; message: string; truncated: boolean } | null;
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

class PickleFormatError extends Error {}
class PickleTruncatedError extends PickleFormatError {}

/** True when the bytes open with a PROTO opcode CPython accepts. */
export function declaresProtocol(first: Uint8Array): boolean {
  return first.length >= 2 && first[0] === 0x80 && first[1] <= HIGHEST_PROTOCOL;
}

/**
 * True when the stream reads as a pickle rather than as other bytes that
 * happen to start with opcode-like bytes: it declares a protocol and reads on
 * past it, opens with a frame, imports a global and uses it, or reads a long
 * run of opcodes. Random tensor bytes and text files do none of these; a
 * pickle that breaks after any of them fails closed.
 */
export function readsAsPickle(reading: PickleReading): boolean {
  return (reading.declaresProtocol && reading.opcodes >= 3) || reading.opensWithFrame || reading.globals.some((global) => global.followed) || reading.opcodes >= 16;
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
 * no import can use) is stepped over, never loaded. `tooLarge` when the
 * pickles run on past `maxBytes`.
 */
export async function readPickleSource(
  source: { size: number; read(offset: number, length: number): Promise<Uint8Array> },
  options: { maxBytes: number; maxPickles?: number },
): Promise<{ reading: PickleReading; tooLarge: boolean }> {
  const reader = new OpcodeReader(source.size);
  let start = 0;
  let length = Math.min(source.size, WINDOW_BYTES);
  let bytes = await source.read(start, length);
  const machine = new PickleMachine(reader, options.maxPickles ?? Infinity, declaresProtocol(bytes));
  for (;;) {
    reader.window(bytes, start);
    const need = machine.run();
    if (!need) return { reading: machine.reading, tooLarge: false };
    if (need.offset + need.length > options.maxBytes) return { reading: machine.reading, tooLarge: true };
    start = need.offset;
    length = Math.min(source.size - start, Math.max(WINDOW_BYTES, need.length));
    bytes = await source.read(start, length);
  }
}

/** Strings longer than this are never a module or a name worth reading: they are stepped over, and an import of one is unknown. */
const MAX_NAME_BYTES = 64 * 1024;

/** The unpickler's state, kept across windows: an opcode that runs past the window is read again, whole, from the next. */
class PickleMachine {
  readonly reading: PickleReading;
  private inPickle = false;
  private stack: Shadow[] = [];
  private memo = new Map<number, Shadow>();
  private protocol = 0;
  // The global the previous opcode imported, and the one the current opcode imports: the former is used once the latter completes.
  private previous: PickleGlobal | undefined;
  private current: PickleGlobal | undefined;

  constructor(
    private readonly reader: OpcodeReader,
    private readonly maxPickles: number,
    opensWithProtocol: boolean,
  ) {
    this.reading = { globals: [], pickles: 0, opcodes: 0, error: null, end: 0, declaresProtocol: opensWithProtocol, opensWithFrame: false, storageKeys: [] };
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
        this.current = undefined;
        return error;
      }
      if (!(error instanceof PickleFormatError)) throw error;
      reading.error = { offset: reader.opcodeOffset, message: error.message, truncated: error instanceof PickleTruncatedError };
      return null;
    }
  }

  private startPickle(): void {
    this.inPickle = true;
    this.stack = [];
    this.memo = new Map();
    this.protocol = 0;
    this.previous = this.current = undefined;
  }

  private completed(): void {
    if (this.previous) this.previous.followed = true;
    this.previous = this.current;
    this.current = undefined;
    this.reading.opcodes++;
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

  /** Opcodes that add to the object below what they pop (APPEND, SETITEM, BUILD…) need it there. */
  private below(): void {
    this.top();
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw new PickleFormatError(`memo value not found at index ${index}`);
    this.stack.push(this.memo.get(index)!);
  }

  private found(module: string, name: string, opcode: PickleGlobal['opcode'], unknown = false): Shadow {
    const global: PickleGlobal = { module, name, offset: this.reader.opcodeOffset, opcode, unknown, protocol: this.protocol, followed: false };
    this.reading.globals.push(global);
    this.current = global;
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
    switch (code) {
      case 0x80: { // PROTO
        const protocol = reader.uint(1);
        if (protocol > HIGHEST_PROTOCOL) throw new PickleFormatError(`unsupported pickle protocol: ${protocol}`);
        this.protocol = protocol;
        break;
      }
      case 0x95: // FRAME
        reader.frame(reader.uint(8));
        if (this.reading.pickles === 0 && this.reading.opcodes <= 1) this.reading.opensWithFrame = true;
        break;
      case 0x2e: // STOP
        this.pop();
        reader.endOfPickle();
        this.completed();
        return true;
      case 0x28: stack.push(MARK); break;
      case 0x30: if (stack[stack.length - 1] === MARK) this.popMark(); else this.pop(); break; // POP: on a bare mark, pops the mark
      case 0x31: this.popMark(); break; // POP_MARK
      case 0x32: stack.push(this.top()); break; // DUP
      // Values that are never a module or a name.
      case 0x4e: case 0x88: case 0x89: case 0x29: case 0x5d: case 0x7d: case 0x8f: stack.push(OTHER); break;
      case 0x97: stack.push(OTHER); break; // NEXT_BUFFER
      case 0x98: this.top(); break; // READONLY_BUFFER
      case 0x46: case 0x49: case 0x4c: reader.line(); stack.push(OTHER); break; // FLOAT INT LONG
      case 0x4a: reader.skip(4); stack.push(OTHER); break; // BININT
      case 0x4b: reader.skip(1); stack.push(OTHER); break; // BININT1
      case 0x4d: reader.skip(2); stack.push(OTHER); break; // BININT2
      case 0x47: reader.skip(8); stack.push(OTHER); break; // BINFLOAT
      case 0x8a: reader.skip(reader.uint(1)); stack.push(OTHER); break; // LONG1
      case 0x8b: reader.skip(reader.int32('LONG')); stack.push(OTHER); break; // LONG4
      // Strings: module and name for STACK_GLOBAL come from these.
      case 0x53: stack.push({ text: unescapeString(unquote(reader.line())) }); break; // STRING
      case 0x54: stack.push(this.text(reader.int32('BINSTRING'), latin1)); break; // BINSTRING
      case 0x55: stack.push(this.text(reader.uint(1), latin1)); break; // SHORT_BINSTRING
      case 0x56: stack.push({ text: unescapeRawUnicode(reader.line()) }); break; // UNICODE
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
      case 0x70: memo.set(index(reader.line()), this.top()); break; // PUT
      case 0x71: memo.set(reader.uint(1), this.top()); break; // BINPUT
      case 0x72: memo.set(reader.uint(4), this.top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, this.top()); break; // MEMOIZE
      case 0x67: this.get(index(reader.line())); break; // GET
      case 0x68: this.get(reader.uint(1)); break; // BINGET
      case 0x6a: this.get(reader.uint(4)); break; // LONG_BINGET
      // Imports and calls. find_class runs before INST collects its mark, so the import happens even when that fails.
      case 0x63: { // GLOBAL
        const module = reader.line('utf8');
        stack.push(this.found(module, reader.line('utf8'), 'GLOBAL'));
        break;
      }
      case 0x69: { // INST
        const module = reader.line('ascii');
        this.found(module, reader.line('ascii'), 'INST');
        this.popMark();
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
        if (this.popMark().length === 0) throw new PickleFormatError('OBJ without a class');
        stack.push(OTHER);
        break;
      }
      case 0x52: this.pop(); this.pop(); stack.push(OTHER); break; // REDUCE
      case 0x81: this.pop(); this.pop(); stack.push(OTHER); break; // NEWOBJ
      case 0x92: this.pop(); this.pop(); this.pop(); stack.push(OTHER); break; // NEWOBJ_EX
      case 0x62: this.pop(); this.below(); break; // BUILD
      case 0x50: reader.line('ascii'); stack.push(OTHER); break; // PERSID
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
    this.completed();
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

/** The opcode at `offset` needs `length` bytes from there, and the window ends first. */
class OutsideWindow {
  constructor(
    readonly offset: number,
    readonly length: number,
  ) {}
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

  /** A protocol 0 argument: up to the next newline, decoded as the opcode's reader decodes it. */
  line(encoding: 'latin1' | 'utf8' | 'ascii' = 'latin1'): string {
    this.reach(0);
    const at = this.offset - this.start;
    const newline = this.bytes.indexOf(0x0a, at);
    if (newline < 0) {
      const windowEnd = this.start + this.bytes.length;
      if (windowEnd >= this.size) throw new PickleTruncatedError('truncated: no newline after a text argument');
      throw new OutsideWindow(this.opcodeOffset, 2 * (windowEnd - this.opcodeOffset));
    }
    const raw = this.bytes.subarray(at, newline);
    this.offset = this.start + newline + 1;
    if (encoding === 'latin1') return latin1(raw);
    if (encoding === 'ascii' && raw.some((byte) => byte > 0x7f)) throw new PickleFormatError('a text argument that must be ASCII is not');
    try {
      return STRICT_UTF8.decode(raw);
    } catch {
      throw new PickleFormatError('a text argument is not valid UTF-8');
    }
  }

  frame(length: number): void {
    // A FRAME read as the last opcode of the frame before it starts cleanly; one read any earlier cuts that frame short.
    if (this.frameEnd !== null && this.offset < this.frameEnd) throw new PickleFormatError('beginning of a new frame before end of current frame');
    this.endOfOpcode();
    if (this.offset + length > this.size) throw new PickleTruncatedError(`truncated: the frame declares ${length} bytes, more than the input holds`);
    // The FRAME opcode itself lies outside the frame it opens.
    this.frameEnd = length === 0 ? null : this.offset + length;
  }

  endOfOpcode(): void {
    if (this.frameEnd === null) return;
    if (this.offset > this.frameEnd) throw new PickleFormatError(`an opcode runs past the end of its frame at byte ${this.frameEnd}`);
    if (this.offset === this.frameEnd) this.frameEnd = null;
  }

  endOfPickle(): void {
    this.endOfOpcode();
    if (this.frameEnd !== null) throw new PickleFormatError(`the pickle stops ${this.frameEnd - this.offset} bytes before the end of its frame`);
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function index(text: string): number {
  if (!/^\d+$/.test(text)) throw new PickleFormatError(`bad memo index "${text}"`);
  return Number(text);
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
  if (/\\*$/.exec(text)![0].length % 2 === 1) throw new PickleFormatError('trailing \\ in a STRING argument');
  const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/gs, (escape: string, code: string) => {
    if (code === 'x') throw new PickleFormatError('invalid \\x escape in a STRING argument');
    if (code[0] === 'x') return String.fromCharCode(parseInt(code.slice(1), 16));
    if (/^[0-7]/.test(code)) return String.fromCharCode(parseInt(code, 8) & 0xff);
    return simple[code] ?? escape;
  });
}

/** raw-unicode-escape, as CPython decodes a protocol 0 UNICODE argument: `Vo\\u0073` is `os`. */
function unescapeRawUnicode(text: string): string {
  // Only \\u and \\U escape, and only after an odd run of backslashes: `\\\\u0073` stays as written.
  return text.replace(/(\\+)(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})/g, (whole: string, slashes: string, code: string) => {
    const point = parseInt(code.slice(1), 16);
    return slashes.length % 2 === 1 && point <= 0x10ffff ? slashes.slice(1) + String.fromCodePoint(point) : whole;
  });
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
