/**
 * Reads a NumPy .npy header, only as far as a scanner needs: the dtype, the
 * shape and where the data starts, and whether that data is a pickle (an
 * object dtype). The header is a Python dict literal, which numpy reads with
 * `ast.literal_eval`; here a small strict parser reads the subset numpy
 * writes (dicts, tuples, lists, quoted strings, ints, True/False/None) and
 * refuses anything else, so nothing is ever evaluated.
 */
import type { ByteSource } from './byte-source';

export interface NpyHeader {
  /** The dtype as written: a type string, a [type, shape] pair or a list of fields. Python tuples and lists both become arrays. */
  descr: unknown;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the array data, or of the pickle when `holdsObjects`. */
  dataOffset: number;
  /** The dtype holds Python objects, so the data is a pickle that loading would run. */
  holdsObjects: boolean;
}

export class NpyFormatError extends Error {}

const MAGIC = Buffer.from('\x93NUMPY', 'latin1');
/**
 * numpy itself reads at most 10,000 header bytes unless allow_pickle lifts
 * the limit. 1 MiB holds a structured dtype of some 50,000 fields, and keeps
 * a hostile length of up to 4 GiB from costing the scanner memory.
 */
const MAX_HEADER_BYTES = 1024 * 1024;
const HEADER_KEYS = ['descr', 'fortran_order', 'shape'];

/** The header of `source`, an .npy file; throws NpyFormatError saying what is wrong with it. */
export async function readNpyHeader(source: ByteSource): Promise<NpyHeader> {
  if (source.size < 10) throw new NpyFormatError(`the file is ${source.size} bytes, shorter than the 10-byte preamble`);
  const preamble = await source.read(0, Math.min(12, source.size));
  if (!preamble.subarray(0, 6).equals(MAGIC)) throw new NpyFormatError('the file does not start with the \\x93NUMPY magic');
  const [major, minor] = [preamble[6], preamble[7]];
  if (minor !== 0 || major < 1 || major > 3) throw new NpyFormatError(`format version ${major}.${minor} is not 1.0, 2.0 or 3.0`);
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4.
  const headerStart = major === 1 ? 10 : 12;
  if (preamble.length < headerStart) throw new NpyFormatError(`the file is ${source.size} bytes, shorter than the ${headerStart}-byte preamble`);
  const length = major === 1 ? preamble.readUInt16LE(8) : preamble.readUInt32LE(8);
  if (length > MAX_HEADER_BYTES) throw new NpyFormatError(`the header claims ${length} bytes, more than the ${MAX_HEADER_BYTES} this reader accepts`);
  if (headerStart + length > source.size) throw new NpyFormatError(`the header claims ${length} bytes but only ${source.size - headerStart} follow the preamble`);
  const bytes = await source.read(headerStart, length);
  let text: string;
  if (major === 3) {
    try {
      // ignoreBOM keeps a byte-order mark in the text for the parser to refuse, as Python would.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new NpyFormatError('the version 3.0 header is not valid UTF-8');
    }
  } else {
    text = bytes.toString('latin1');
  }
  // numpy retries version 1.0 and 2.0 headers with Python 2's `3L` longs filtered out.
  const header = parsePythonLiteral(text, major < 3);
  return { ...checkHeader(header), dataOffset: headerStart + length };
}

function checkHeader(header: PyValue): Omit<NpyHeader, 'dataOffset'> {
  if (header.kind !== 'dict') throw new NpyFormatError(`the header is ${describe(header)}, not a dict`);
  const keys = [...header.entries.keys()];
  if (keys.length !== HEADER_KEYS.length || !HEADER_KEYS.every((key) => header.entries.has(key))) {
    throw new NpyFormatError(`the header's keys are ${keys.map((key) => `'${key}'`).join(', ') || 'none'}, not exactly ${HEADER_KEYS.map((key) => `'${key}'`).join(', ')}`);
  }
  const fortranOrder = header.entries.get('fortran_order')!;
  if (fortranOrder.kind !== 'bool') throw new NpyFormatError(`fortran_order is ${describe(fortranOrder)}, not True or False`);
  const shape = header.entries.get('shape')!;
  if (shape.kind !== 'tuple' || !shape.items.every(isDimension)) throw new NpyFormatError('shape is not a tuple of non-negative ints');
  const descr = header.entries.get('descr')!;
  return {
    descr: plain(descr),
    fortranOrder: fortranOrder.value,
    shape: shape.items.map((dim) => (dim as { value: number }).value),
    holdsObjects: holdsObjects(descr, 0),
  };
}

/**
 * Whether a descr, as numpy's `descr_to_dtype` reads it, makes a dtype that
 * holds objects: a type string, a (type, shape) subarray, or a list of fields
 * `(name, type[, shape])`. Any other shape of descr is refused rather than
 * guessed at, so the caller fails closed.
 */
function holdsObjects(descr: PyValue, depth: number): boolean {
  if (depth > MAX_DEPTH) throw new NpyFormatError(`descr is nested deeper than ${MAX_DEPTH} levels`);
  switch (descr.kind) {
    case 'str':
      return typeStringHoldsObjects(descr.value);
    case 'tuple':
      if (descr.items.length !== 2 || !isShape(descr.items[1])) throw new NpyFormatError('a tuple descr is not (type, shape)');
      return holdsObjects(descr.items[0], depth + 1);
    case 'list':
      return descr.items
        .map((field) => {
          if (field.kind !== 'tuple' || field.items.length < 2 || field.items.length > 3)
            throw new NpyFormatError('a structured descr field is not a (name, type) or (name, type, shape) tuple');
          const [name, type, shape] = field.items;
          const titled = name.kind === 'tuple' && name.items.length === 2 && name.items.every((part) => part.kind === 'str');
          if (name.kind !== 'str' && !titled) throw new NpyFormatError('a structured descr field name is neither a string nor a (title, name) pair');
          if (shape && !isShape(shape)) throw new NpyFormatError('a structured descr field shape is not an int or a tuple of ints');
          return holdsObjects(type, depth + 1);
        })
        .some(Boolean);
    default:
      throw new NpyFormatError(`descr is ${describe(descr)}, not a type string, a (type, shape) tuple or a list of fields`);
  }
}

/**
 * A type string holds objects when it mentions the object type anywhere:
 * numpy reads `'O'`, `'2O'`, `'|(2,)O'`, `'i4,2O'` and `'object'` alike, and
 * no type code of any other dtype contains `O` (an upper-case letter numpy
 * uses for nothing else), so matching it anywhere cannot miss a spelling.
 */
function typeStringHoldsObjects(type: string): boolean {
  return type.includes('O') || type.includes('object');
}

const isDimension = (value: PyValue) => value.kind === 'int' && value.value >= 0;
const isShape = (value: PyValue) => isDimension(value) || (value.kind === 'tuple' && value.items.every(isDimension));

function plain(value: PyValue): unknown {
  switch (value.kind) {
    case 'dict':
      return Object.fromEntries([...value.entries].map(([key, item]) => [key, plain(item)]));
    case 'tuple':
    case 'list':
      return value.items.map(plain);
    case 'none':
      return null;
    default:
      return value.value;
  }
}

function describe(value: PyValue): string {
  switch (value.kind) {
    case 'dict':
      return 'a dict';
    case 'tuple':
      return 'a tuple';
    case 'list':
      return 'a list';
    case 'str':
      return 'a string';
    case 'int':
      return `the int ${value.value}`;
    case 'bool':
      return value.value ? 'True' : 'False';
    case 'none':
      return 'None';
  }
}

// The Python literal subset numpy writes.

type PyValue =
  | { kind: 'dict'; entries: Map<string, PyValue> }
  | { kind: 'tuple'; items: PyValue[] }
  | { kind: 'list'; items: PyValue[] }
  | { kind: 'str'; value: string }
  | { kind: 'int'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' };

/** Python's own parser gives up near 200 nested brackets; no real descr comes close to this. */
const MAX_DEPTH = 100;

const SIMPLE_ESCAPES = new Map([
  ['\\', '\\'],
  ["'", "'"],
  ['"', '"'],
  ['a', '\x07'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
  ['v', '\v'],
]);
/** `\xhh`, `\uhhhh`, `\Uhhhhhhhh`. */
const HEX_ESCAPE_DIGITS = new Map([
  ['x', 2],
  ['u', 4],
  ['U', 8],
]);

function parsePythonLiteral(text: string, allowLongSuffix: boolean): PyValue {
  let at = 0;
  const fail = (reason: string, where = at): never => {
    throw new NpyFormatError(`header character ${where}: ${reason}`);
  };
  const skipSpace = () => {
    while (at < text.length && ' \t\n\r\f'.includes(text[at])) at++;
  };
  const peek = () => {
    skipSpace();
    return text[at];
  };
  const expect = (char: string) => {
    if (peek() !== char) fail(at < text.length ? `expected '${char}' but found ${JSON.stringify(text[at])}` : `expected '${char}' but the header ended`);
    at++;
  };
  /** Items up to `close`, comma-separated, a trailing comma allowed; `trailingComma` says whether the last item had one. */
  const sequence = (close: string, item: () => void): { count: number; trailingComma: boolean } => {
    let count = 0;
    for (;;) {
      if (peek() === close) {
        at++;
        return { count, trailingComma: count > 0 };
      }
      item();
      count++;
      if (peek() === close) {
        at++;
        return { count, trailingComma: false };
      }
      expect(',');
    }
  };

  const string = (): string => {
    const quote = text[at];
    const start = at;
    at++;
    let value = '';
    for (;;) {
      // Plain runs are copied whole, not a character at a time.
      let end = at;
      while (end < text.length && text[end] !== quote && text[end] !== '\\' && text[end] !== '\n' && text[end] !== '\r') end++;
      value += text.slice(at, end);
      at = end;
      const char = text[at];
      if (char === undefined || char === '\n' || char === '\r') fail('unterminated string', start);
      at++;
      if (char === quote) return value;
      const escape = text[at];
      const simple = SIMPLE_ESCAPES.get(escape);
      const width = HEX_ESCAPE_DIGITS.get(escape);
      if (simple !== undefined) {
        value += simple;
        at++;
      } else if (escape === '\n') {
        at++;
      } else if (width !== undefined) {
        const digits = text.slice(at + 1, at + 1 + width);
        if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits)) fail(`invalid \\${escape} escape`, at - 1);
        const code = parseInt(digits, 16);
        if (code > 0x10ffff) fail(`\\${escape} escape beyond U+10FFFF`, at - 1);
        value += String.fromCodePoint(code);
        at += 1 + digits.length;
      } else if (escape !== undefined && escape >= '0' && escape <= '7') {
        const digits = /^[0-7]{1,3}/.exec(text.slice(at, at + 3))![0];
        value += String.fromCodePoint(parseInt(digits, 8));
        at += digits.length;
      } else {
        fail(`unsupported escape \\${escape ?? ''}`, at - 1);
      }
    }
  };

  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    const char = peek();
    const start = at;
    if (char === '{') {
      at++;
      const entries = new Map<string, PyValue>();
      sequence('}', () => {
        const keyAt = (skipSpace(), at);
        const key = value(depth + 1);
        if (key.kind !== 'str') return fail(`a dict key is ${describe(key)}, not a string`, keyAt);
        expect(':');
        // Python keeps the last of repeated keys; another reader may keep the first, so refuse rather than pick.
        if (entries.has(key.value)) fail(`repeated dict key '${key.value}'`, keyAt);
        entries.set(key.value, value(depth + 1));
      });
      return { kind: 'dict', entries };
    }
    if (char === '[') {
      at++;
      const items: PyValue[] = [];
      sequence(']', () => items.push(value(depth + 1)));
      return { kind: 'list', items };
    }
    if (char === '(') {
      at++;
      const items: PyValue[] = [];
      const { count, trailingComma } = sequence(')', () => items.push(value(depth + 1)));
      // `(x)` is just x; `(x,)` and `()` are tuples.
      return count === 1 && !trailingComma ? items[0] : { kind: 'tuple', items };
    }
    if (char === "'" || char === '"') return { kind: 'str', value: string() };
    if ((char === 'u' || char === 'U') && (text[at + 1] === "'" || text[at + 1] === '"')) {
      at++;
      return { kind: 'str', value: string() };
    }
    const word = /[A-Za-z_][A-Za-z0-9_]*/y;
    word.lastIndex = at;
    const name = word.exec(text)?.[0];
    if (name === 'True' || name === 'False') {
      at += name.length;
      return { kind: 'bool', value: name === 'True' };
    }
    if (name === 'None') {
      at += name.length;
      return { kind: 'none' };
    }
    const integer = allowLongSuffix ? /-?(0+|[1-9][0-9]*)[lL]?(?![0-9A-Za-z_.])/y : /-?(0+|[1-9][0-9]*)(?![0-9A-Za-z_.])/y;
    integer.lastIndex = at;
    const digits = integer.exec(text)?.[0];
    if (digits !== undefined) {
      const number = Number(digits.replace(/[lL]$/, ''));
      if (!Number.isSafeInteger(number)) fail(`integer ${digits} is too large`, start);
      at += digits.length;
      return { kind: 'int', value: number };
    }
    return fail(at < text.length ? `unsupported literal starting ${JSON.stringify(text.slice(at, at + 12))}` : 'the header ended where a value should be');
  };

  const result = value(0);
  skipSpace();
  if (at < text.length) fail(`unexpected ${JSON.stringify(text.slice(at, at + 12))} after the header dict`);
  return result;
}
