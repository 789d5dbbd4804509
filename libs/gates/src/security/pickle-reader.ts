/**
 * Reads pickle opcodes (protocols 0-5) without unpickling anything, and lists
 * every global a pickle would import. It keeps a shadow of the unpickler's
 * stack and memo holding only strings, so STACK_GLOBAL's module and name are
 * resolved through any memo indirection; a global it cannot resolve is
 * reported as unknown. Every pickle concatenated in the input is read; a
 * pickle that breaks mid-way keeps the globals found before the break.
 */

/** A global the pickle imports: what `find_class(module, name)` would be asked for. */
export interface PickleGlobal {
  module: string;
  name: string;
  /** Byte offset of the opcode that imports it. */
  offset: number;
  opcode: 'GLOBAL' | 'INST' | 'STACK_GLOBAL' | 'EXT';
  /** True when module or name could not be read from the pickle (computed at load time, or an extension code). */
  unknown: boolean;
}

export interface PickleReading {
  globals: PickleGlobal[];
  /** Complete pickles read (each ends with STOP). */
  pickles: number;
  /** Where and why reading stopped before the end of the input; `truncated` when the input ran out mid-pickle. */
  error: { offset: number; message: string; truncated: boolean } | null;
  /** Bytes consumed: the end of the last complete pickle. */
  end: number;
}

type Shadow = { text: string } | typeof OTHER | typeof MARK;
const OTHER = Symbol('value');
const MARK = Symbol('mark');

class PickleFormatError extends Error {}
class PickleTruncatedError extends PickleFormatError {}

/** Reads up to `maxPickles` pickles from `bytes` (all of them by default). */
export function readPickles(bytes: Uint8Array, maxPickles = Infinity): PickleReading {
  const reader = new OpcodeReader(bytes);
  const globals: PickleGlobal[] = [];
  let pickles = 0;
  let end = 0;
  try {
    while (reader.offset < bytes.length && pickles < maxPickles) {
      readOne(reader, globals);
      pickles++;
      end = reader.offset;
    }
    return { globals, pickles, error: null, end };
  } catch (error) {
    if (!(error instanceof PickleFormatError)) throw error;
    return { globals, pickles, error: { offset: reader.opcodeOffset, message: error.message, truncated: error instanceof PickleTruncatedError }, end };
  }
}

function readOne(reader: OpcodeReader, globals: PickleGlobal[]): void {
  const stack: Shadow[] = [];
  const memo = new Map<number, Shadow>();
  const pop = (): Shadow => {
    if (stack.length === 0) throw new PickleFormatError('stack underflow');
    return stack.pop()!;
  };
  const popMark = (): Shadow[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleFormatError('no MARK on the stack');
    return stack.splice(at);
  };
  const top = (): Shadow => {
    if (stack.length === 0) throw new PickleFormatError('memo of an empty stack');
    return stack[stack.length - 1];
  };
  const get = (index: number) => stack.push(memo.get(index) ?? OTHER);
  const found = (module: string, name: string, opcode: PickleGlobal['opcode'], unknown = false) =>
    globals.push({ module, name, offset: reader.opcodeOffset, opcode, unknown });

  for (;;) {
    const code = reader.opcode();
    switch (code) {
      case 0x80: reader.take(1); break; // PROTO
      case 0x95: reader.take(8); break; // FRAME
      case 0x2e: return; // STOP
      case 0x28: stack.push(MARK); break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      // Values that are never a module or a name.
      case 0x4e: case 0x88: case 0x89: case 0x29: case 0x5d: case 0x7d: case 0x8f: case 0x97: stack.push(OTHER); break;
      case 0x98: break; // READONLY_BUFFER
      case 0x46: case 0x49: case 0x4c: reader.line(); stack.push(OTHER); break; // FLOAT INT LONG
      case 0x4a: reader.take(4); stack.push(OTHER); break; // BININT
      case 0x4b: reader.take(1); stack.push(OTHER); break; // BININT1
      case 0x4d: reader.take(2); stack.push(OTHER); break; // BININT2
      case 0x47: reader.take(8); stack.push(OTHER); break; // BINFLOAT
      case 0x8a: reader.take(reader.uint(1)); stack.push(OTHER); break; // LONG1
      case 0x8b: reader.take(reader.int32()); stack.push(OTHER); break; // LONG4
      // Strings: module and name for STACK_GLOBAL come from these.
      case 0x53: stack.push({ text: unescapeString(unquote(reader.line())) }); break; // STRING
      case 0x54: stack.push({ text: latin1(reader.take(reader.int32())) }); break; // BINSTRING
      case 0x55: stack.push({ text: latin1(reader.take(reader.uint(1))) }); break; // SHORT_BINSTRING
      case 0x56: stack.push({ text: unescapeRawUnicode(reader.line()) }); break; // UNICODE
      case 0x58: stack.push({ text: utf8(reader.take(reader.uint(4))) }); break; // BINUNICODE
      case 0x8c: stack.push({ text: utf8(reader.take(reader.uint(1))) }); break; // SHORT_BINUNICODE
      case 0x8d: stack.push({ text: utf8(reader.take(reader.uint(8))) }); break; // BINUNICODE8
      case 0x42: reader.take(reader.uint(4)); stack.push(OTHER); break; // BINBYTES
      case 0x43: reader.take(reader.uint(1)); stack.push(OTHER); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: reader.take(reader.uint(8)); stack.push(OTHER); break; // BINBYTES8 BYTEARRAY8
      // Containers.
      case 0x74: case 0x6c: case 0x64: case 0x91: popMark(); stack.push(OTHER); break; // TUPLE LIST DICT FROZENSET
      case 0x85: pop(); stack.push(OTHER); break; // TUPLE1
      case 0x86: pop(); pop(); stack.push(OTHER); break; // TUPLE2
      case 0x87: pop(); pop(); pop(); stack.push(OTHER); break; // TUPLE3
      case 0x61: pop(); break; // APPEND
      case 0x73: pop(); pop(); break; // SETITEM
      case 0x65: case 0x75: case 0x90: popMark(); break; // APPENDS SETITEMS ADDITEMS
      // Memo.
      case 0x70: memo.set(index(reader.line()), top()); break; // PUT
      case 0x71: memo.set(reader.uint(1), top()); break; // BINPUT
      case 0x72: memo.set(reader.uint(4), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: get(index(reader.line())); break; // GET
      case 0x68: get(reader.uint(1)); break; // BINGET
      case 0x6a: get(reader.uint(4)); break; // LONG_BINGET
      // Imports and calls.
      case 0x63: found(reader.line(), reader.line(), 'GLOBAL'); stack.push(OTHER); break;
      case 0x69: found(reader.line(), reader.line(), 'INST'); popMark(); stack.push(OTHER); break;
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        const text = (value: Shadow) => (typeof value === 'object' ? value.text : null);
        const [m, n] = [text(module), text(name)];
        found(m ?? '?', n ?? '?', 'STACK_GLOBAL', m === null || n === null);
        stack.push(OTHER);
        break;
      }
      case 0x82: reader.take(1); found('?', '?', 'EXT', true); stack.push(OTHER); break; // EXT1
      case 0x83: reader.take(2); found('?', '?', 'EXT', true); stack.push(OTHER); break; // EXT2
      case 0x84: reader.take(4); found('?', '?', 'EXT', true); stack.push(OTHER); break; // EXT4
      case 0x6f: popMark(); stack.push(OTHER); break; // OBJ
      case 0x52: pop(); pop(); stack.push(OTHER); break; // REDUCE
      case 0x81: pop(); pop(); stack.push(OTHER); break; // NEWOBJ
      case 0x92: pop(); pop(); pop(); stack.push(OTHER); break; // NEWOBJ_EX
      case 0x62: pop(); break; // BUILD
      case 0x50: reader.line(); stack.push(OTHER); break; // PERSID
      case 0x51: pop(); stack.push(OTHER); break; // BINPERSID
      default:
        throw new PickleFormatError(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
    }
  }
}

/** The input as a sequence of opcodes and their arguments; reading past its end is a format error. */
class OpcodeReader {
  offset = 0;
  opcodeOffset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  opcode(): number {
    this.opcodeOffset = this.offset;
    return this.take(1)[0];
  }

  take(length: number): Uint8Array {
    if (length < 0 || this.offset + length > this.bytes.length) throw new PickleTruncatedError('truncated: the pickle ends inside an opcode');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  /** Little-endian unsigned integer of 1, 2, 4 or 8 bytes. */
  uint(size: 1 | 2 | 4 | 8): number {
    const bytes = this.take(size);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[i];
    if (!Number.isSafeInteger(value)) throw new PickleFormatError('length out of range');
    return value;
  }

  int32(): number {
    const bytes = this.take(4);
    const value = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24);
    if (value < 0) throw new PickleFormatError('negative length');
    return value;
  }

  /** A protocol 0 argument: up to the next newline. */
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.offset);
    if (end < 0) throw new PickleTruncatedError('truncated: no newline after a text argument');
    const text = latin1(this.bytes.subarray(this.offset, end));
    this.offset = end + 1;
    return text;
  }
}

function index(text: string): number {
  if (!/^\d+$/.test(text)) throw new PickleFormatError(`bad memo index "${text}"`);
  return Number(text);
}

function unquote(text: string): string {
  const quoted = /^(['"])(.*)\1$/s.exec(text);
  return quoted ? quoted[2] : text;
}

/**
 * The text CPython decodes a protocol 0 STRING to (its string-escape codec):
 * `S'o\\x73'` names module `os`, so escapes must be read as the unpickler reads them.
 */
function unescapeString(text: string): string {
  const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/gs, (escape: string, code: string) => {
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
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
