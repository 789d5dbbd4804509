import type { ByteSource } from './byte-source';
import type { SecurityFinding } from './finding';
import { importedGlobal, judgeGlobal, runsOnImport } from './pickle-policy';
import { readPickleSource, readsAsPickle, type PickleGlobal, type PickleReading } from './pickle-reader';

/** Where a scanned stream sits: the version's file, and the zip entries or sections leading to it. */
export interface ScanPlace {
  file: string;
  path: readonly string[];
}

export function locate(place: ScanPlace, ...inner: string[]): string {
  return [...place.path, ...inner].join(' › ') || '(whole file)';
}

export interface PickleScanOptions {
  /** Pickle bytes read at most; a longer stream is refused rather than partly trusted. */
  maxBytes: number;
  allowedGlobals: readonly string[];
}

/**
 * torch.save's legacy (pre-zip) format: a pickled magic number, then the
 * protocol version, system info, the object and its storage keys — five
 * pickles — followed by raw tensor bytes that are not pickle at all.
 */
const LEGACY_TORCH_MAGIC = Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
const LEGACY_TORCH_PICKLES = 5;

/** The first pickle is torch's magic number (LONG1), after PROTO and, from protocol 4, a FRAME: whatever pickle_protocol torch.save was given. */
function startsWithTorchMagic(head: Buffer): boolean {
  let at = head[0] === 0x80 ? 2 : 0;
  if (head[at] === 0x95) at += 9;
  return head.subarray(at, at + LEGACY_TORCH_MAGIC.length).equals(LEGACY_TORCH_MAGIC);
}

export interface PickleScan {
  findings: SecurityFinding[];
  /** Whether the bytes read as a pickle at all (see `readsAsPickle`); bytes that do not are some other format's. */
  isPickle: boolean;
  /** Storage keys the pickles' persistent ids name (a torch checkpoint's data.pkl). */
  storageKeys: string[];
  /** Where the last complete pickle ends; null when none was read to its STOP. */
  end: number | null;
  /** Every global imported, allowed or not, as CPython imports it. */
  imports: { module: string; name: string }[];
}

/**
 * Lists every global the pickles in `source` import and judges each against
 * the policy, and fails closed on what the reader could not follow. Bytes
 * that do not read as a pickle (random tensor bytes, text) keep only the
 * imports that act when merely imported: anything else they seem to import
 * was never going to run, since CPython stops where the reader stops. A
 * legacy torch.save file is read as torch reads it, five pickles and not the
 * raw tensors after them.
 */
export async function scanPickles(source: ByteSource, place: ScanPlace, options: PickleScanOptions & { maxPickles?: number }): Promise<PickleScan> {
  const head = await source.read(0, Math.min(source.size, LEGACY_TORCH_MAGIC.length + 11));
  const maxPickles = options.maxPickles ?? (startsWithTorchMagic(head) ? LEGACY_TORCH_PICKLES : Infinity);
  const { reading, tooLarge } = await readPickleSource(source, { maxBytes: options.maxBytes, maxPickles });
  const isPickle = readsAsPickle(reading);
  const findings = judgeAll(reading, place, options, isPickle ? () => true : runsOnImport);
  const flag = (rule: string, where: string[], why: string) => findings.push({ severity: 'HIGH', rule, file: place.file, location: locate(place, ...where), why });
  // Where the reader gives up while CPython may read on, the file fails, pickle-like or not.
  if (tooLarge)
    flag('pickle_too_large', [], `reading its pickles takes more than the ${options.maxBytes} bytes the policy lets the scanner read (maxMemberMiB), so what follows is unchecked`);
  else if (reading.error?.kind === 'limit')
    flag('pickle_unreadable', [`byte ${reading.error.offset}`], `${reading.error.message}; CPython may read on past it, so it fails closed`);
  else if (reading.error && isPickle) {
    flag(
      'pickle_unreadable',
      [`byte ${reading.error.offset}`],
      `the pickle breaks here (${reading.error.message}) after ${reading.pickles} complete pickle(s); it fails closed rather than trust what a loader might make of it`,
    );
  }
  if (reading.frameAnomaly && isPickle) {
    flag(
      'pickle_frames_inconsistent',
      [`byte ${reading.frameAnomaly.offset}`],
      `${reading.frameAnomaly.message}: pickle.load on a file and pickle.loads read such a stream differently, so it is refused (every import was still read, as C's unpickler would)`,
    );
  }
  return { findings, isPickle, storageKeys: reading.storageKeys, end: reading.pickles > 0 ? reading.end : null, imports: reading.globals.map(importedGlobal) };
}

/** One finding per flagged global and pickle stream, at its first import, counting repeats. */
function judgeAll(reading: PickleReading, place: ScanPlace, options: PickleScanOptions, counts: (global: PickleGlobal) => boolean): SecurityFinding[] {
  const byGlobal = new Map<string, { finding: SecurityFinding; count: number }>();
  for (const global of reading.globals.filter(counts)) {
    const judged = judgeGlobal(global, options.allowedGlobals);
    if (judged.verdict === 'allowed') continue;
    // Named as CPython imports it; the message says how it was written when that differs.
    const { module, name } = importedGlobal(global);
    const key = `${module}\0${name}`;
    const seen = byGlobal.get(key);
    if (seen) {
      seen.count++;
      continue;
    }
    byGlobal.set(key, {
      count: 1,
      finding: {
        severity: judged.severity,
        rule: judged.rule,
        file: place.file,
        location: locate(place, `${global.opcode} opcode at byte ${global.offset}`),
        module,
        name,
        why: judged.why,
      },
    });
  }
  return [...byGlobal.values()].map(({ finding, count }) => (count === 1 ? finding : { ...finding, why: `${finding.why} (imported ${count} times)` }));
}
