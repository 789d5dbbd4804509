/**
 * Checks a safetensors file the way the safetensors crate would load it, and
 * stricter where loaders disagree: an 8-byte little-endian header length N,
 * N bytes of UTF-8 JSON naming each tensor's dtype, shape and byte range,
 * then the data buffer those ranges must tile exactly. Nothing in the format
 * runs code, so the findings are about files that break loaders, could carry
 * bytes no loader reads, or hold NaN/Inf weights.
 *
 * Severities: a structural fault is HIGH, because the file either fails to
 * load or is read differently by different readers (duplicate keys, gaps,
 * trailing bytes), which is where hidden data lives. NaN/Inf is MEDIUM: the
 * file loads safely but the model is numerically broken.
 */
import type { ByteSource } from './byte-source';
import type { FindingSeverity, SecurityFinding } from './finding';

/** The crate's MAX_HEADER_SIZE: it refuses longer headers. */
const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsScanOptions {
  /** Bytes read at a time when checking a tensor's values; default 4 MiB. */
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
/** A hostile header can break a rule millions of times; past this many findings the rest are counted, not listed. */
export const SAFETENSORS_MAX_FINDINGS = 1000;
const METADATA_KEY = '__metadata__';
const TENSOR_KEYS = ['dtype', 'shape', 'data_offsets'];

/** Bits per element of every dtype the safetensors crate (0.6 and later) knows. A Map, so a name like `constructor` is not found on a prototype. */
const DTYPE_BITS = new Map<string, number>([
  ['BOOL', 8],
  ['F4', 4],
  ['F6_E2M3', 6],
  ['F6_E3M2', 6],
  ['U8', 8],
  ['I8', 8],
  ['F8_E5M2', 8],
  ['F8_E4M3', 8],
  ['F8_E8M0', 8],
  ['F8_E4M3FNUZ', 8],
  ['F8_E5M2FNUZ', 8],
  ['I16', 16],
  ['U16', 16],
  ['F16', 16],
  ['BF16', 16],
  ['I32', 32],
  ['U32', 32],
  ['F32', 32],
  ['C64', 64],
  ['F64', 64],
  ['I64', 64],
  ['U64', 64],
]);

/**
 * IEEE-style formats checked for NaN/Inf: element size, and the exponent and
 * mantissa masks of the element's most significant 16 or 32 bits (for F64 the
 * low word joins the mantissa).
 */
const FLOAT_FORMATS = new Map<string, { size: 2 | 4 | 8; exponent: number; mantissa: number }>([
  ['F16', { size: 2, exponent: 0x7c00, mantissa: 0x03ff }],
  ['BF16', { size: 2, exponent: 0x7f80, mantissa: 0x007f }],
  ['F32', { size: 4, exponent: 0x7f800000, mantissa: 0x007fffff }],
  ['F64', { size: 8, exponent: 0x7ff00000, mantissa: 0x000fffff }],
]);

interface TensorEntry {
  name: string;
  /** Set only when each part is valid. */
  dtype?: string;
  shape?: number[];
  offsets?: { begin: number; end: number };
  /** False when its byte count disagrees with dtype × shape. */
  sized: boolean;
}

type Report = (severity: FindingSeverity, rule: string, location: string, why: string) => void;

/** Every way `source`, a safetensors file, is malformed or holds non-finite floats. Throws only when the source cannot be read. */
export async function scanSafetensors(source: ByteSource, file: string, where?: string, options: SafetensorsScanOptions = {}): Promise<SecurityFinding[]> {
  const findings: SecurityFinding[] = [];
  const place = (location: string) => (where ? `${where} › ${location}` : location);
  let unlisted = 0;
  const report: Report = (severity, rule, location, why) => {
    if (findings.length < SAFETENSORS_MAX_FINDINGS) findings.push({ severity, rule, file, location: place(location), why });
    else unlisted++;
  };
  await scanInto(source, report, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  if (unlisted > 0) {
    findings.push({
      severity: 'HIGH',
      rule: 'safetensors_findings_truncated',
      file,
      location: place('header'),
      why: `${unlisted} more findings after the first ${SAFETENSORS_MAX_FINDINGS} are not listed`,
    });
  }
  return findings;
}

async function scanInto(source: ByteSource, report: Report, chunkBytes: number): Promise<void> {
  const header = await readHeader(source, report);
  if (!header) return;
  const dataStart = 8 + header.length;
  const dataLength = source.size - dataStart;
  const tensors = checkEntries(header.root, report);
  checkSizes(tensors, report);
  checkLayout(tensors, dataLength, dataStart, report);
  for (const tensor of tensors) {
    const format = tensor.dtype === undefined ? undefined : FLOAT_FORMATS.get(tensor.dtype);
    if (!format || !tensor.offsets || !tensor.sized || tensor.offsets.end > dataLength) continue;
    const { begin, end } = tensor.offsets;
    const count = await countNonFinite(source, dataStart + begin, end - begin, format, chunkBytes);
    if (count.nan + count.inf > 0) {
      const counts = [count.nan && `${count.nan} NaN`, count.inf && `${count.inf} Inf`].filter(Boolean).join(', ');
      report(
        'MEDIUM',
        'safetensors_non_finite',
        `tensor ${quoted(tensor.name)}`,
        `${clipped(tensor.name)} (${tensor.dtype}): ${counts}, first at index ${count.first}; a non-finite weight turns every output it reaches into NaN or Inf`,
      );
    }
  }
}

async function readHeader(source: ByteSource, report: Report): Promise<{ length: number; root: JsonObject } | null> {
  const lengthField = 'header length (bytes 0-7)';
  if (source.size < 8) {
    report('HIGH', 'safetensors_truncated', lengthField, `the file is ${source.size} bytes, too short to hold the 8-byte header length`);
    return null;
  }
  const declared = (await source.read(0, 8)).readBigUInt64LE(0);
  if (declared > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    report('HIGH', 'safetensors_header_too_large', lengthField, `the header claims ${declared} bytes; loaders refuse more than ${SAFETENSORS_MAX_HEADER_BYTES}`);
    return null;
  }
  const length = Number(declared);
  if (8 + length > source.size) {
    report('HIGH', 'safetensors_header_out_of_bounds', lengthField, `the header claims ${length} bytes but only ${source.size - 8} follow the length field`);
    return null;
  }
  const bytes = await source.read(8, length);
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so the JSON check rejects it as serde_json does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    report('HIGH', 'safetensors_header_not_utf8', `header byte ${8 + firstInvalidUtf8(bytes)}`, 'the header is not valid UTF-8, so loaders refuse the file');
    return null;
  }
  const toByte = utf8Offsets(text);
  const byteAt = (index: number) => 8 + toByte(index);
  let parsed: { value: JsonValue; duplicates: DuplicateKey[] };
  try {
    parsed = parseStrictJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    report('HIGH', 'safetensors_header_invalid_json', `header byte ${byteAt(error.at)}`, `the header is not valid JSON: ${error.message}`);
    return null;
  }
  // In text order, so utf8Offsets walks the header once however many there are.
  for (const duplicate of [...parsed.duplicates].sort((a, b) => a.at - b.at)) {
    report(
      'HIGH',
      'safetensors_duplicate_key',
      `header key ${duplicate.pointer} at byte ${byteAt(duplicate.at)}`,
      'the key appears more than once in its object; JSON readers disagree on which value wins, so a scanner and a loader can see different tensors',
    );
  }
  if (!(parsed.value instanceof Map)) {
    report('HIGH', 'safetensors_header_invalid_json', 'header', `the header is ${describe(parsed.value)}, not a JSON object`);
    return null;
  }
  return { length, root: parsed.value };
}

/** The header's tensors, each with the parts that are valid; reports every entry that is not. */
function checkEntries(root: JsonObject, report: Report): TensorEntry[] {
  const tensors: TensorEntry[] = [];
  for (const [name, value] of root) {
    const pointer = `header key ${jsonPointer([name])}`;
    if (name === METADATA_KEY) {
      if (!(value instanceof Map)) {
        report('HIGH', 'safetensors_bad_metadata', pointer, `${METADATA_KEY} is ${describe(value)}; loaders require an object of strings`);
        continue;
      }
      for (const [key, entry] of value) {
        if (typeof entry !== 'string') {
          report(
            'HIGH',
            'safetensors_bad_metadata',
            `header key ${jsonPointer([name, key])}`,
            `${METADATA_KEY} values must be strings and this one is ${describe(entry)}; loaders refuse the file`,
          );
        }
      }
      continue;
    }
    const tensor: TensorEntry = { name, sized: true };
    tensors.push(tensor);
    if (!(value instanceof Map)) {
      report('HIGH', 'safetensors_bad_tensor_entry', pointer, `a tensor entry must be an object with ${TENSOR_KEYS.join(', ')}; this is ${describe(value)}`);
      continue;
    }
    const missing = TENSOR_KEYS.filter((key) => !value.has(key));
    if (missing.length > 0) report('HIGH', 'safetensors_bad_tensor_entry', pointer, `the tensor entry lacks ${missing.join(', ')}`);
    for (const key of value.keys()) {
      if (!TENSOR_KEYS.includes(key)) {
        report(
          'HIGH',
          'safetensors_bad_tensor_entry',
          `header key ${jsonPointer([name, key])}`,
          `a tensor entry holds only ${TENSOR_KEYS.join(', ')}; an extra key is data no loader reads`,
        );
      }
    }
    const dtype = value.get('dtype');
    if (dtype !== undefined) {
      if (typeof dtype === 'string' && DTYPE_BITS.has(dtype)) tensor.dtype = dtype;
      else
        report(
          'HIGH',
          'safetensors_unknown_dtype',
          `header key ${jsonPointer([name, 'dtype'])}`,
          `the dtype is ${typeof dtype === 'string' ? quoted(dtype) : describe(dtype)}, not one loaders know (${[...DTYPE_BITS.keys()].join(', ')})`,
        );
    }
    const shape = value.get('shape');
    if (shape !== undefined) {
      if (Array.isArray(shape) && shape.every(isUsize)) tensor.shape = shape;
      else report('HIGH', 'safetensors_bad_tensor_entry', `header key ${jsonPointer([name, 'shape'])}`, 'the shape must be an array of non-negative integers');
    }
    const offsets = value.get('data_offsets');
    if (offsets !== undefined) {
      const [begin, end] = Array.isArray(offsets) && offsets.length === 2 ? offsets : [];
      if (isUsize(begin) && isUsize(end) && begin <= end) tensor.offsets = { begin, end };
      else
        report(
          'HIGH',
          'safetensors_bad_tensor_entry',
          `header key ${jsonPointer([name, 'data_offsets'])}`,
          'data_offsets must be two non-negative integers [begin, end] with begin ≤ end',
        );
    }
  }
  return tensors;
}

/** Each tensor's byte range must hold exactly product(shape) elements of its dtype. */
function checkSizes(tensors: TensorEntry[], report: Report): void {
  for (const tensor of tensors) {
    if (tensor.dtype === undefined || !tensor.shape || !tensor.offsets) continue;
    const { begin, end } = tensor.offsets;
    const elements = elementCount(tensor.shape);
    const declared = `${tensor.dtype} ${clipped(JSON.stringify(tensor.shape))}`;
    if (elements === null) {
      tensor.sized = false;
      report('HIGH', 'safetensors_tensor_size_mismatch', `tensor ${quoted(tensor.name)}`, `${declared} has more than 2^64 elements, more than any file holds`);
      continue;
    }
    const bits = elements * BigInt(DTYPE_BITS.get(tensor.dtype)!);
    if (bits % 8n !== 0n) {
      tensor.sized = false;
      report('HIGH', 'safetensors_tensor_size_mismatch', `tensor ${quoted(tensor.name)}`, `${declared} is ${bits} bits, not a whole number of bytes`);
    } else if (bits / 8n !== BigInt(end - begin)) {
      tensor.sized = false;
      report(
        'HIGH',
        'safetensors_tensor_size_mismatch',
        `tensor ${quoted(tensor.name)}`,
        `${declared} needs ${bits / 8n} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
  }
}

/**
 * The product of a shape's dimensions, or null past 2^64. BigInt, because a
 * hostile shape overflows a double; capped, because one of millions of
 * dimensions would make the product millions of bits long.
 */
function elementCount(shape: number[]): bigint | null {
  if (shape.includes(0)) return 0n;
  let product = 1n;
  for (const dim of shape) {
    if (dim === 1) continue;
    product *= BigInt(dim);
    if (product > 2n ** 64n) return null;
  }
  return product;
}

/** Sorted by offset, the tensors must tile the data buffer from 0 to its end: no gap, overlap, trailing or missing byte. */
function checkLayout(tensors: TensorEntry[], dataLength: number, dataStart: number, report: Report): void {
  const placed = tensors
    .filter((tensor): tensor is TensorEntry & { offsets: { begin: number; end: number } } => tensor.offsets !== undefined)
    .sort((a, b) => a.offsets.begin - b.offsets.begin || a.offsets.end - b.offsets.end || (a.name < b.name ? -1 : 1));
  const fileBytes = (from: number, to: number) => `file bytes [${dataStart + from}, ${dataStart + to})`;
  let covered = 0;
  let last: (typeof placed)[number] | undefined;
  for (const tensor of placed) {
    const { begin, end } = tensor.offsets;
    const name = quoted(tensor.name);
    if (begin > covered) {
      const between = last ? `between tensor ${quoted(last.name)} and tensor ${name}` : `before tensor ${name}`;
      report(
        'HIGH',
        'safetensors_offsets_gap',
        `data buffer bytes [${covered}, ${begin})`,
        `no tensor covers these ${begin - covered} bytes (${fileBytes(covered, begin)}), ${between}; the safetensors crate refuses the file, and readers that accept it skip these bytes, so they can carry hidden data`,
      );
    } else if (begin < covered && last) {
      report(
        'HIGH',
        'safetensors_offsets_overlap',
        `tensor ${name}`,
        `its data_offsets [${begin}, ${end}] overlap tensor ${quoted(last.name)} [${last.offsets.begin}, ${last.offsets.end}]; loaders refuse overlapping tensors`,
      );
    }
    if (!last || end >= covered) last = tensor;
    covered = Math.max(covered, end);
  }
  if (covered < dataLength) {
    report(
      'HIGH',
      'safetensors_trailing_bytes',
      `data buffer bytes [${covered}, ${dataLength})`,
      `${dataLength - covered} bytes (${fileBytes(covered, dataLength)}) follow the last tensor; loaders refuse them, and they can carry hidden data`,
    );
  } else if (covered > dataLength) {
    report(
      'HIGH',
      'safetensors_missing_bytes',
      `data buffer bytes [${dataLength}, ${covered})`,
      `the tensors reach byte ${covered} of the data buffer but the file holds only ${dataLength}; it is truncated`,
    );
  }
}

/** Counts NaN and Inf among `length` bytes of elements from `start`, reading at most `chunkBytes` at a time. */
async function countNonFinite(
  source: ByteSource,
  start: number,
  length: number,
  format: { size: 2 | 4 | 8; exponent: number; mantissa: number },
  chunkBytes: number,
): Promise<{ nan: number; inf: number; first: number }> {
  const { size, exponent, mantissa } = format;
  const chunk = Math.max(size, Math.floor(chunkBytes / size) * size);
  let nan = 0;
  let inf = 0;
  let first = -1;
  for (let done = 0; done < length; done += chunk) {
    const bytes = await source.read(start + done, Math.min(chunk, length - done));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let offset = 0; offset < bytes.length; offset += size) {
      const high = size === 2 ? view.getUint16(offset, true) : view.getUint32(offset + size - 4, true);
      if ((high & exponent) !== exponent) continue;
      const fraction = (high & mantissa) | (size === 8 ? view.getUint32(offset, true) : 0);
      if (fraction === 0) inf++;
      else nan++;
      if (first < 0) first = (done + offset) / size;
    }
  }
  return { nan, inf, first };
}

/** Index of the first byte that starts an invalid UTF-8 sequence (overlong, surrogate, above U+10FFFF or cut short). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index];
    // Sequence length and the least code point it may encode; 0x80-0xc1 and 0xf5-0xff never lead.
    const [length, min] =
      lead < 0x80 ? [1, 0] : lead >= 0xc2 && lead <= 0xdf ? [2, 0x80] : lead >= 0xe0 && lead <= 0xef ? [3, 0x800] : lead >= 0xf0 && lead <= 0xf4 ? [4, 0x10000] : [0, 0];
    if (length === 0) return index;
    let code = length === 1 ? lead : lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[index + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return index;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return index;
    index += length;
  }
  return index;
}

/** Only integer literals a usize holds are kept as numbers; see JsonValue. */
const isUsize = (value: JsonValue | undefined): value is number => typeof value === 'number';

function describe(value: JsonValue): string {
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return `the number ${value}`;
  if (value instanceof OtherNumber) return `the number ${clipped(value.text)}`;
  return String(value);
}

/** RFC 6901 pointer, so a key holding `/` or `.` still names one place. */
function jsonPointer(keys: (string | number)[]): string {
  return keys.map((key) => `/${clipped(String(key)).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** A name or value from the header, cut short: a hostile header can hold a key of millions of characters. */
function clipped(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

const quoted = (text: string) => JSON.stringify(clipped(text));

/** Maps indices in `text` to UTF-8 byte offsets, walking forward from the last one asked for. */
function utf8Offsets(text: string): (index: number) => number {
  let index = 0;
  let bytes = 0;
  return (target) => {
    if (target < index) [index, bytes] = [0, 0];
    for (; index < target; index++) {
      const code = text.charCodeAt(index);
      // A surrogate pair is 4 bytes: count them on the high half. The text came from valid UTF-8, so pairs are whole.
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code >= 0xdc00 && code <= 0xdfff ? 0 : code >= 0xd800 && code <= 0xdbff ? 4 : 3;
    }
    return bytes;
  };
}

// A strict JSON reader. JSON.parse keeps the last of duplicated keys without a
// word, and accepts lone surrogates serde_json refuses; this one records every
// duplicate and follows RFC 8259 and serde_json's nesting limit.

/**
 * JSON as the scanner keeps it, compact because a 100 MB header can hold tens
 * of millions of values: objects as Maps, arrays, strings, booleans and null
 * as themselves, an integer literal a usize holds (no sign, fraction or
 * exponent, as serde demands) as a number, and any other number as its text.
 */
type JsonValue = JsonObject | JsonValue[] | string | number | OtherNumber | boolean | null;
type JsonObject = Map<string, JsonValue>;

class OtherNumber {
  constructor(readonly text: string) {}
}

interface DuplicateKey {
  pointer: string;
  /** Index in the text of the repeated key's opening quote. */
  at: number;
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const SIMPLE_ESCAPES = new Map([
  ['"', '"'],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);

const LITERALS = [
  ['true', true],
  ['false', false],
  ['null', null],
] as const;

/** Nesting serde_json allows: its recursion limit of 128 counts down and fails on reaching 0. */
const MAX_DEPTH = 127;

function parseStrictJson(text: string): { value: JsonValue; duplicates: DuplicateKey[] } {
  const duplicates: DuplicateKey[] = [];
  let at = 0;
  const fail = (message: string, where = at): never => {
    throw new JsonSyntaxError(message, where);
  };
  const skipSpace = () => {
    for (let code = text.charCodeAt(at); code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d; code = text.charCodeAt(++at));
  };
  const expect = (char: string) => {
    if (text[at] !== char) fail(at < text.length ? `expected '${char}' but found ${JSON.stringify(text[at])}` : `expected '${char}' but the text ended`);
    at++;
  };

  const string = (): string => {
    expect('"');
    let value = '';
    let from = at;
    for (;;) {
      const code = text.charCodeAt(at);
      if (Number.isNaN(code)) fail('unterminated string');
      if (code === 0x22) break;
      if (code < 0x20) fail('control character in a string');
      if (code !== 0x5c) {
        at++;
        continue;
      }
      value += text.slice(from, at);
      const escape = text[at + 1];
      const simple = SIMPLE_ESCAPES.get(escape);
      if (simple !== undefined) {
        value += simple;
        at += 2;
      } else if (escape === 'u') {
        const unit = hex4(at + 2);
        at += 6;
        if (unit >= 0xdc00 && unit <= 0xdfff) fail('lone low surrogate escape', at - 6);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = text.startsWith('\\u', at) ? hex4(at + 2) : -1;
          if (low < 0xdc00 || low > 0xdfff) fail('lone high surrogate escape', at - 6);
          value += String.fromCharCode(unit, low);
          at += 6;
        } else {
          value += String.fromCharCode(unit);
        }
      } else {
        fail('invalid escape in a string');
      }
      from = at;
    }
    value += text.slice(from, at);
    at++;
    return value;
  };
  const hex4 = (from: number): number => {
    const digits = text.slice(from, from + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) fail('invalid \\u escape', from - 2);
    return parseInt(digits, 16);
  };

  // Keys and indices down to the value being read, for naming a duplicate.
  const path: (string | number)[] = [];
  const value = (depth: number): JsonValue => {
    skipSpace();
    const char = text[at];
    if (char === '{' || char === '[') {
      if (depth >= MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
      at++;
      skipSpace();
      const close = char === '{' ? '}' : ']';
      const entries = new Map<string, JsonValue>();
      const items: JsonValue[] = [];
      if (text[at] === close) {
        at++;
      } else {
        for (;;) {
          if (char === '{') {
            skipSpace();
            const keyAt = at;
            const key = string();
            skipSpace();
            expect(':');
            path.push(key);
            const item = value(depth + 1);
            if (entries.has(key)) duplicates.push({ pointer: jsonPointer(path), at: keyAt });
            path.pop();
            entries.set(key, item);
          } else {
            path.push(items.length);
            items.push(value(depth + 1));
            path.pop();
          }
          skipSpace();
          if (text[at] === close) {
            at++;
            break;
          }
          expect(',');
        }
      }
      return char === '{' ? entries : items;
    }
    if (char === '"') return string();
    if (char === '-' || (char >= '0' && char <= '9')) return number();
    for (const [word, literal] of LITERALS) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return literal;
      }
    }
    return fail(at < text.length ? `unexpected ${JSON.stringify(char)}` : 'the text ended where a value should be');
  };
  const digits = () => {
    const start = at;
    while (text.charCodeAt(at) >= 0x30 && text.charCodeAt(at) <= 0x39) at++;
    if (at === start) fail('expected a digit');
  };
  // By hand rather than by regex: a header can hold tens of millions of numbers.
  const number = (): number | OtherNumber => {
    const start = at;
    if (text[at] === '-') at++;
    if (text[at] === '0') at++;
    else digits();
    const plain = text[start] !== '-';
    let fraction = false;
    if (text[at] === '.') {
      at++;
      digits();
      fraction = true;
    }
    if (text[at] === 'e' || text[at] === 'E') {
      at++;
      if (text[at] === '+' || text[at] === '-') at++;
      digits();
      fraction = true;
    }
    const literal = text.slice(start, at);
    const integer = plain && !fraction ? Number(literal) : NaN;
    return Number.isSafeInteger(integer) ? integer : new OtherNumber(literal);
  };

  const root = value(0);
  skipSpace();
  if (at < text.length) fail(`unexpected ${JSON.stringify(text[at])} after the JSON value`);
  return { value: root, duplicates };
}
