import type { ByteSource } from './byte-source';
import type { SecurityFinding } from './finding';
import { judgeGlobal } from './pickle-policy';
import { readPickles, type PickleReading } from './pickle-reader';

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
const FIRST_WINDOW_BYTES = 1024 * 1024;

/** True when the bytes start with a PROTO opcode, the way pickles of protocol 2 and later do (CPython accepts any protocol number up to 5 there). */
export function looksLikePickle(first: Uint8Array): boolean {
  return first.length >= 2 && first[0] === 0x80 && first[1] <= 5;
}

/** The first pickle is torch's magic number (LONG1), after PROTO and, from protocol 4, a FRAME: whatever pickle_protocol torch.save was given. */
function startsWithTorchMagic(head: Buffer): boolean {
  let at = head[0] === 0x80 ? 2 : 0;
  if (head[at] === 0x95) at += 9;
  return head.subarray(at, at + LEGACY_TORCH_MAGIC.length).equals(LEGACY_TORCH_MAGIC);
}

/**
 * Lists every global the pickles in `source` import and judges each against
 * the policy. It reads a growing prefix rather than the whole source, so a
 * legacy checkpoint's gigabytes of raw tensors after its pickles are never read.
 */
export async function scanPickles(source: ByteSource, place: ScanPlace, options: PickleScanOptions): Promise<SecurityFinding[]> {
  const head = await source.read(0, Math.min(source.size, LEGACY_TORCH_MAGIC.length + 11));
  const maxPickles = startsWithTorchMagic(head) ? LEGACY_TORCH_PICKLES : Infinity;
  let window = Math.min(source.size, FIRST_WINDOW_BYTES);
  let reading: PickleReading;
  for (;;) {
    reading = readPickles(await source.read(0, window), maxPickles);
    const ranOut = reading.error ? reading.error.truncated : reading.pickles < maxPickles;
    if (!ranOut || window === source.size) break;
    if (window >= options.maxBytes) {
      return [
        ...judgeAll(reading, place, options),
        {
          severity: 'HIGH',
          rule: 'pickle_too_large',
          file: place.file,
          location: locate(place),
          why: `its pickles run past the ${options.maxBytes} bytes the policy lets the scanner read (maxPickleMiB), so what follows is unchecked`,
        },
      ];
    }
    window = Math.min(source.size, window * 4, Math.max(options.maxBytes, FIRST_WINDOW_BYTES));
  }
  const findings = judgeAll(reading, place, options);
  if (reading.error) {
    findings.push({
      severity: 'HIGH',
      rule: 'pickle_unreadable',
      file: place.file,
      location: locate(place, `byte ${reading.error.offset}`),
      why: `the pickle breaks here (${reading.error.message}) after ${reading.pickles} complete pickle(s); a loader may read on past what this scan could check, so it fails closed`,
    });
  }
  return findings;
}

/** One finding per flagged global and pickle stream, at its first import, counting repeats. */
function judgeAll(reading: PickleReading, place: ScanPlace, options: PickleScanOptions): SecurityFinding[] {
  const byGlobal = new Map<string, { finding: SecurityFinding; count: number }>();
  for (const global of reading.globals) {
    const judged = judgeGlobal(global, options.allowedGlobals);
    if (judged.verdict === 'allowed') continue;
    const key = `${global.module}\0${global.name}`;
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
        module: global.module,
        name: global.name,
        why: judged.why,
      },
    });
  }
  return [...byGlobal.values()].map(({ finding, count }) => (count === 1 ? finding : { ...finding, why: `${finding.why} (imported ${count} times)` }));
}
