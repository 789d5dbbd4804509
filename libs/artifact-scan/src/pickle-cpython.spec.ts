import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SeededRandom } from '@gatehouse/onnx';
import { importedGlobal } from './pickle-policy';
import { readPickles } from './pickle-reader';

/**
 * The reader against CPython itself (test/support/pickle-oracle.py): pickles
 * written by CPython's own pickler, read back by pickletools, and mutated
 * at random. Nothing is unpickled on either side.
 */
const ORACLE = join(__dirname, '../../../test/support/pickle-oracle.py');
const oracle = <T>(command: object): T => JSON.parse(execFileSync('python3', [ORACLE], { input: JSON.stringify(command), encoding: 'utf8', maxBuffer: 256 << 20 })) as T;

/** Values CPython pickles as references to globals (functions, classes, reducers) and as data in every opcode family. */
const EXPRESSIONS = [
  'os.system',
  'eval',
  'getattr',
  'print',
  'sys.intern',
  'os.path.join',
  'io.BytesIO',
  'collections.OrderedDict',
  'collections.OrderedDict.fromkeys',
  'collections.abc.Mapping',
  'functools.partial(print, 1)',
  'datetime.datetime(2020, 1, 2, 3, 4, 5)',
  'fractions.Fraction(1, 3)',
  'collections.OrderedDict(a=1)',
  'collections.Counter("abca")',
  'range(3)',
  'set([1, 2])',
  'frozenset([3])',
  'complex(1, 2)',
  'bytearray(b"x\\x00")',
  'slice(1, 2, 3)',
  'ValueError("x")',
  '[1, -1, 255, 65536, 2**40, -2**70, 1.5, -0.0, None, True, False]',
  '{"k\\n": "v\'\\"", "é": "\\u20ac\\U0001f600", "\\\\x73": b"\\x00\\xff"}',
  '("a" * 300, b"b" * 300, ("nested", ("deeper",)))',
  '[("shared",) * 3, "dup", "dup"]',
  '[os.system, os.system, eval, eval]',
  'list(range(20000))',
  '[b"\\x95" * 70000, "frame" * 20000]',
  '{"tensor": b"\\x80\\x04\\x95c" * 50000}',
];
const PROTOCOLS = [0, 1, 2, 3, 4, 5];

interface Dumped {
  hex: string;
  globals: [string, string][];
}
interface Disassembly {
  ops: { op: string; pos: number }[];
  error: { pos: number; message: string } | null;
  framesConsistent: boolean;
}

const dumped = oracle<Dumped[]>({ dump: EXPRESSIONS.flatMap((expression) => PROTOCOLS.map((protocol) => [expression, protocol])) });
const cases = EXPRESSIONS.flatMap((expression, e) => PROTOCOLS.map((protocol, p) => ({ expression, protocol, ...dumped[e * PROTOCOLS.length + p] })));

describe('the pickle reader against CPython', () => {
  it.each(cases.map((dumpCase) => [dumpCase.expression, dumpCase.protocol, dumpCase] as const))('reads %s pickled at protocol %i as CPython would import it', (_, __, dumpCase) => {
    const bytes = Buffer.from(dumpCase.hex, 'hex');
    const reading = readPickles(bytes);
    expect({ error: reading.error, pickles: reading.pickles, end: reading.end }).toEqual({ error: null, pickles: 1, end: bytes.length });
    expect(reading.globals.map((global) => (global.unknown ? ['?', '?'] : Object.values(importedGlobal(global))))).toEqual(dumpCase.globals);
  });

  it('sees the imports pickletools sees, at the same offsets, in thousands of mutated pickles, and refuses the frames CPython would misread', () => {
    const random = new SeededRandom(14);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random.next() * items.length)];
    const mutants: Buffer[] = [];
    const small = cases.filter((dumpCase) => dumpCase.hex.length < 4000);
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(pick(small).hex, 'hex');
      const at = Math.floor(random.next() * bytes.length);
      const mutation = pick(['flip', 'truncate', 'insert', 'frame'] as const);
      if (mutation === 'flip') bytes[at] = Math.floor(random.next() * 256);
      if (mutation === 'frame' && bytes[2] === 0x95) bytes.writeUInt32LE(Math.max(0, bytes.readUInt32LE(3) + Math.floor(random.next() * 9) - 4), 3);
      const mutant =
        mutation === 'truncate'
          ? bytes.subarray(0, at)
          : mutation === 'insert'
            ? Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(random.next() * 256)]), bytes.subarray(at)])
            : bytes;
      mutants.push(mutant);
    }
    const disassembled = oracle<Disassembly[]>({ disassemble: mutants.map((mutant) => mutant.toString('hex')) });
    let inconsistentFrames = 0;
    mutants.forEach((mutant, index) => {
      const cpython = disassembled[index];
      const reading = readPickles(mutant);
      // Where either stops, the other may read on: CPython checks values pickletools does not (a stack, an int literal), and the
      // reader accepts encodings a loader may pass (latin-1 STRINGs). Up to there, both must see the same imports at the same offsets:
      // a reader out of step with CPython would see others.
      const stop = Math.min(reading.error?.offset ?? mutant.length, cpython.error?.pos ?? mutant.length);
      const cpythonGlobals = cpython.ops.filter((op) => ['GLOBAL', 'INST', 'STACK_GLOBAL', 'EXT1', 'EXT2', 'EXT4'].includes(op.op) && op.pos < stop).map((op) => op.pos);
      expect({ index, globals: reading.globals.filter((global) => global.offset < stop).map((global) => global.offset) }).toEqual({ index, globals: cpythonGlobals });
      // Frames CPython's file unpickler would read differently from pickle.loads are caught (the scan refuses them).
      if (!cpython.framesConsistent) {
        inconsistentFrames++;
        expect({ index, caught: reading.frameAnomaly !== null || reading.error !== null }).toEqual({ index, caught: true });
      }
    });
    expect(inconsistentFrames).toBeGreaterThan(50);
  });
});
