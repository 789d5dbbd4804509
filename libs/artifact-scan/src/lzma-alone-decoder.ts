/**
 * A decoder for one LZMA1 stream of the lzma-alone (.lzma) format, the one
 * joblib writes for `compress='lzma'`: a port of Igor Pavlov's reference
 * decoder (LzmaSpec.cpp in the LZMA SDK, public domain), which liblzma and
 * thus Python's lzma module agree with. It decodes from memory and hands its
 * output out in chunks, so the caller can stop it at any chunk.
 */

/** The bytes are not a whole, valid LZMA stream. */
export class LzmaDataError extends Error {
  override name = 'LzmaDataError';
}

export interface LzmaAloneHeader {
  /** lc, lp, pb packed as one byte: (pb * 5 + lp) * 9 + lc. */
  properties: number;
  dictionarySize: number;
  /** Undefined when the header leaves it unknown (all ones): the stream then ends with an end marker. */
  uncompressedSize?: number;
}

const LZMA_ALONE_HEADER_BYTES = 13;

function readLzmaAloneHeader(bytes: Uint8Array): LzmaAloneHeader {
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, LZMA_ALONE_HEADER_BYTES);
  const size = header.readBigUInt64LE(5);
  if (size !== 0xffffffffffffffffn && size > BigInt(Number.MAX_SAFE_INTEGER)) throw new LzmaDataError(`the declared size ${size} is beyond 2^53`);
  return {
    properties: header[0],
    dictionarySize: header.readUInt32LE(1),
    uncompressedSize: size === 0xffffffffffffffffn ? undefined : Number(size),
  };
}

const TOP = 2 ** 24;
const PROBABILITY_BITS = 11;
const PROBABILITY_INIT = 1 << (PROBABILITY_BITS - 1);
const MOVE_BITS = 5;
const POS_BITS_MAX = 4;
const STATES = 12;
const LEN_TO_POS_STATES = 4;
const ALIGN_BITS = 4;
const END_POS_MODEL_INDEX = 14;
const FULL_DISTANCES = 1 << (END_POS_MODEL_INDEX >> 1);
const MATCH_MIN_LEN = 2;
const MIN_DICTIONARY = 1 << 12;

const probabilities = (count: number) => new Uint16Array(count).fill(PROBABILITY_INIT);

class RangeDecoder {
  private range = 0xffffffff;
  private code = 0;

  constructor(
    private readonly input: Uint8Array,
    public position: number,
  ) {
    if (this.nextByte() !== 0) throw new LzmaDataError('the range coder does not start with a zero byte');
    for (let index = 0; index < 4; index++) this.code = (this.code * 256 + this.nextByte()) >>> 0;
    if (this.code === this.range) throw new LzmaDataError('the range coder starts with an impossible code');
  }

  /** The stream may end here: the encoder's flush leaves the code at zero. */
  get finishedCleanly(): boolean {
    return this.code === 0;
  }

  decodeBit(probs: Uint16Array, index: number): number {
    const probability = probs[index];
    const bound = (this.range >>> PROBABILITY_BITS) * probability;
    let bit: number;
    if (this.code < bound) {
      probs[index] = probability + (((1 << PROBABILITY_BITS) - probability) >>> MOVE_BITS);
      this.range = bound;
      bit = 0;
    } else {
      probs[index] = probability - (probability >>> MOVE_BITS);
      this.code -= bound;
      this.range -= bound;
      bit = 1;
    }
    this.normalise();
    return bit;
  }

  decodeDirectBits(count: number): number {
    let result = 0;
    for (let bit = 0; bit < count; bit++) {
      this.range = this.range >>> 1;
      let value = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        value = 1;
      }
      if (this.code === this.range) throw new LzmaDataError('the range coder reached an impossible code');
      this.normalise();
      result = result * 2 + value;
    }
    return result;
  }

  private normalise(): void {
    if (this.range < TOP) {
      this.range = (this.range * 256) >>> 0;
      this.code = (this.code * 256 + this.nextByte()) >>> 0;
    }
  }

  private nextByte(): number {
    if (this.position >= this.input.length) throw new LzmaDataError('the LZMA data ends inside the stream');
    return this.input[this.position++];
  }
}

function bitTree(decoder: RangeDecoder, probs: Uint16Array, offset: number, bits: number): number {
  let symbol = 1;
  for (let index = 0; index < bits; index++) symbol = (symbol << 1) + decoder.decodeBit(probs, offset + symbol);
  return symbol - (1 << bits);
}

function reverseBitTree(decoder: RangeDecoder, probs: Uint16Array, offset: number, bits: number): number {
  let node = 1;
  let symbol = 0;
  for (let index = 0; index < bits; index++) {
    const bit = decoder.decodeBit(probs, offset + node);
    node = (node << 1) + bit;
    symbol |= bit << index;
  }
  return symbol;
}

class LengthDecoder {
  private readonly choice = probabilities(2);
  private readonly low = probabilities(8 << POS_BITS_MAX);
  private readonly middle = probabilities(8 << POS_BITS_MAX);
  private readonly high = probabilities(256);

  decode(decoder: RangeDecoder, posState: number): number {
    if (decoder.decodeBit(this.choice, 0) === 0) return bitTree(decoder, this.low, posState << 3, 3);
    if (decoder.decodeBit(this.choice, 1) === 0) return 8 + bitTree(decoder, this.middle, posState << 3, 3);
    return 16 + bitTree(decoder, this.high, 0, 8);
  }
}

/** The sliding dictionary, and the output handed out a chunk at a time. */
class OutputWindow {
  private readonly buffer: Uint8Array;
  private position = 0;
  private full = false;
  total = 0;
  private pending: Buffer;
  private filled = 0;

  constructor(
    private readonly size: number,
    private readonly chunkBytes: number,
    private readonly emit: (chunk: Buffer) => void,
  ) {
    this.buffer = new Uint8Array(size);
    this.pending = Buffer.allocUnsafe(chunkBytes);
  }

  put(byte: number): void {
    this.buffer[this.position++] = byte;
    this.total++;
    if (this.position === this.size) {
      this.position = 0;
      this.full = true;
    }
    this.pending[this.filled++] = byte;
    if (this.filled === this.chunkBytes) this.flush();
  }

  /** The byte `distance` back: 1 is the last one written. */
  byteBack(distance: number): number {
    const at = this.position - distance;
    return this.buffer[at < 0 ? at + this.size : at];
  }

  reaches(distance: number): boolean {
    return distance <= this.position || this.full;
  }

  get empty(): boolean {
    return this.position === 0 && !this.full;
  }

  flush(): void {
    if (this.filled === 0) return;
    this.emit(this.pending.subarray(0, this.filled));
    this.pending = Buffer.allocUnsafe(this.chunkBytes);
    this.filled = 0;
  }
}

/**
 * Decodes the stream whose 13-byte header starts at `start`, handing each
 * `chunkBytes` of output to `emit` (which may throw to stop it); returns
 * where the stream ended. Refuses dictionaries over `maxDictionary` bytes.
 */
export function decodeLzmaAlone(input: Uint8Array, start: number, options: { maxDictionary: number; chunkBytes: number; emit: (chunk: Buffer) => void }): number {
  if (input.length - start < LZMA_ALONE_HEADER_BYTES) throw new LzmaDataError('the LZMA data ends inside its header');
  const header = readLzmaAloneHeader(input.subarray(start, start + LZMA_ALONE_HEADER_BYTES));
  if (header.properties >= 9 * 5 * 5) throw new LzmaDataError(`the properties byte ${header.properties} is out of range`);
  const lc = header.properties % 9;
  const lp = Math.floor(header.properties / 9) % 5;
  const pb = Math.floor(header.properties / 45);
  const dictionarySize = Math.max(header.dictionarySize, MIN_DICTIONARY);
  if (dictionarySize > options.maxDictionary) throw new LzmaDataError(`it needs a ${dictionarySize}-byte dictionary, more than the ${options.maxDictionary} allowed`);

  const decoder = new RangeDecoder(input, start + LZMA_ALONE_HEADER_BYTES);
  const window = new OutputWindow(Math.min(dictionarySize, Math.max(MIN_DICTIONARY, header.uncompressedSize ?? dictionarySize)), options.chunkBytes, options.emit);
  const literals = probabilities(0x300 << (lc + lp));
  const isMatch = probabilities(STATES << POS_BITS_MAX);
  const isRep = probabilities(STATES);
  const isRepG0 = probabilities(STATES);
  const isRepG1 = probabilities(STATES);
  const isRepG2 = probabilities(STATES);
  const isRep0Long = probabilities(STATES << POS_BITS_MAX);
  const posSlots = probabilities(LEN_TO_POS_STATES << 6);
  const positions = probabilities(1 + FULL_DISTANCES - END_POS_MODEL_INDEX);
  const align = probabilities(1 << ALIGN_BITS);
  const lengths = new LengthDecoder();
  const repLengths = new LengthDecoder();
  const sized = header.uncompressedSize !== undefined;
  let remaining = header.uncompressedSize ?? Infinity;
  let state = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;

  const decodeLiteral = () => {
    const previous = window.empty ? 0 : window.byteBack(1);
    const offset = 0x300 * (((window.total & ((1 << lp) - 1)) << lc) + (previous >>> (8 - lc)));
    let symbol = 1;
    if (state >= 7) {
      let matchByte = window.byteBack(rep0 + 1);
      do {
        const matchBit = (matchByte >>> 7) & 1;
        matchByte <<= 1;
        const bit = decoder.decodeBit(literals, offset + ((1 + matchBit) << 8) + symbol);
        symbol = (symbol << 1) | bit;
        if (matchBit !== bit) break;
      } while (symbol < 0x100);
    }
    while (symbol < 0x100) symbol = (symbol << 1) | decoder.decodeBit(literals, offset + symbol);
    window.put(symbol - 0x100);
  };

  const decodeDistance = (length: number) => {
    const lengthState = Math.min(length, LEN_TO_POS_STATES - 1);
    const slot = bitTree(decoder, posSlots, lengthState << 6, 6);
    if (slot < 4) return slot;
    const directBits = (slot >>> 1) - 1;
    let distance = (2 | (slot & 1)) * 2 ** directBits;
    if (slot < END_POS_MODEL_INDEX) return distance + reverseBitTree(decoder, positions, distance - slot, directBits);
    distance += decoder.decodeDirectBits(directBits - ALIGN_BITS) * 2 ** ALIGN_BITS;
    return distance + reverseBitTree(decoder, align, 0, ALIGN_BITS);
  };

  for (;;) {
    if (sized && remaining === 0 && decoder.finishedCleanly) break;
    const posState = window.total & ((1 << pb) - 1);
    if (decoder.decodeBit(isMatch, (state << POS_BITS_MAX) + posState) === 0) {
      if (remaining === 0) throw new LzmaDataError('the stream goes on past its declared size');
      decodeLiteral();
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      remaining--;
      continue;
    }
    let length: number;
    if (decoder.decodeBit(isRep, state) !== 0) {
      if (remaining === 0) throw new LzmaDataError('the stream goes on past its declared size');
      if (window.empty) throw new LzmaDataError('a repeated match comes before any data');
      if (decoder.decodeBit(isRepG0, state) === 0) {
        if (decoder.decodeBit(isRep0Long, (state << POS_BITS_MAX) + posState) === 0) {
          state = state < 7 ? 9 : 11;
          window.put(window.byteBack(rep0 + 1));
          remaining--;
          continue;
        }
      } else {
        let distance: number;
        if (decoder.decodeBit(isRepG1, state) === 0) distance = rep1;
        else {
          if (decoder.decodeBit(isRepG2, state) === 0) distance = rep2;
          else {
            distance = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = distance;
      }
      length = repLengths.decode(decoder, posState);
      state = state < 7 ? 8 : 11;
    } else {
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      length = lengths.decode(decoder, posState);
      state = state < 7 ? 7 : 10;
      rep0 = decodeDistance(length);
      if (rep0 === 0xffffffff) {
        if (!decoder.finishedCleanly) throw new LzmaDataError('the end marker is not where the range coder ends');
        break;
      }
      if (remaining === 0) throw new LzmaDataError('the stream goes on past its declared size');
      if (rep0 >= dictionarySize || !window.reaches(rep0 + 1)) throw new LzmaDataError(`a match reaches ${rep0 + 1} bytes back, before the start of the data or the dictionary`);
    }
    length += MATCH_MIN_LEN;
    if (length > remaining) throw new LzmaDataError('a match runs past the declared size');
    for (let index = 0; index < length; index++) window.put(window.byteBack(rep0 + 1));
    remaining -= length;
  }
  window.flush();
  return decoder.position;
}
