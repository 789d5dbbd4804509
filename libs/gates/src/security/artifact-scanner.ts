import { open, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { OnnxModel } from '@gatehouse/onnx';
import { fileSource, sliceSource, type ByteSource } from './byte-source';
import { sortFindings, type SecurityFinding } from './finding';
import { NpyFormatError, readNpyHeader } from './numpy-format';
import { externalDataFiles, scanOnnxModel } from './onnx-scanner';
import { locate, looksLikePickle, scanPickles, type ScanPlace } from './pickle-scanner';
import { scanSafetensors } from './safetensors-scanner';
import { looksLikeZip, openZipEntry, readZipDirectory, unsafeEntryPath, ZipBombError, ZipFormatError, type ZipEntry } from './zip-reader';

/** Bounds and allowances of one scan, from the policy's thresholds. */
export interface ScanPolicy {
  maxZipEntries: number;
  /** Uncompressed ÷ compressed size of one entry. */
  maxZipRatio: number;
  /** Uncompressed bytes of all entries of one archive. */
  maxZipTotalBytes: number;
  /** Archives inside archives; the file itself is depth 0. */
  maxZipDepth: number;
  /** Bytes of one pickle stream, or of one compressed member inflated to be scanned. */
  maxMemberBytes: number;
  allowedGlobals: readonly string[];
  allowedOnnxDomains: readonly string[];
}

export type ScannedFormat = 'onnx' | 'onnx-external-data' | 'safetensors' | 'zip' | 'pickle' | 'npy' | 'not scanned';

export interface ArtifactScan {
  findings: SecurityFinding[];
  files: { path: string; format: ScannedFormat }[];
}

/** Files whose name says PyTorch or pickle loads them; they are pickles unless they are zips. */
const PICKLE_EXTENSIONS = ['.pkl', '.pickle', '.pt', '.pth', '.bin', '.ckpt', '.joblib'];
/** Enough for every signature sniffed, tar's `ustar` at 257 included. */
const MAGIC_BYTES = 512;

/**
 * Scans every file of a version without loading or executing anything:
 * ONNX graphs and their external data, safetensors headers and values,
 * pickles (alone, in legacy torch.save files, in zips and in object .npy
 * arrays), and the archives around them. A file that cannot be scanned is a
 * finding, never a pass.
 */
export async function scanArtifact(
  directory: string,
  files: readonly { path: string; size: number }[],
  policy: ScanPolicy,
  /** An ONNX file of the version already parsed by the caller (a gate's other checks), or undefined to parse it here. */
  parsedOnnx: (path: string) => Promise<OnnxModel> | undefined = () => undefined,
): Promise<ArtifactScan> {
  const sizes = new Map(files.map((file) => [file.path, file.size]));
  const findings: SecurityFinding[] = [];
  const formats = new Map<string, ScannedFormat>();
  // ONNX first: the files its external data names hold raw tensors, which may start with any bytes.
  const tensorData = new Set<string>();
  for (const file of files.filter((candidate) => candidate.path.toLowerCase().endsWith('.onnx'))) {
    formats.set(file.path, 'onnx');
    let model: OnnxModel;
    try {
      model = await (parsedOnnx(file.path) ?? readFile(posix.join(directory, file.path)).then((bytes) => OnnxModel.parse(bytes)));
    } catch (error) {
      findings.push({ severity: 'HIGH', rule: 'onnx_unreadable', file: file.path, location: '(whole file)', why: `it does not parse as ONNX (${(error as Error).message}), so it cannot be scanned` });
      continue;
    }
    findings.push(...scanOnnxModel(model, file.path, sizes, { allowedDomains: policy.allowedOnnxDomains }));
    for (const path of externalDataFiles(model, file.path)) tensorData.add(path);
  }
  for (const file of files) {
    if (formats.has(file.path)) continue;
    try {
      const handle = await open(posix.join(directory, file.path), 'r');
      try {
        const scan = new StreamScan(policy, findings);
        const source = fileSource(handle, (await handle.stat()).size);
        const place = { file: file.path, path: [] };
        formats.set(file.path, tensorData.has(file.path) ? await scan.tensorData(source, place) : await scan.stream(source, place, file.path, 0));
      } finally {
        await handle.close();
      }
    } catch (error) {
      formats.set(file.path, 'not scanned');
      findings.push({ severity: 'HIGH', rule: 'scan_error', file: file.path, location: '(whole file)', why: `the scan could not finish (${(error as Error).message}), so the file is not known to be safe` });
    }
  }
  return { findings: sortFindings(findings), files: files.map((file) => ({ path: file.path, format: formats.get(file.path)! })) };
}

const isNpy = (magic: Buffer) => magic.subarray(0, 6).toString('latin1') === '\x93NUMPY';

/** What compressed or tar data the bytes start with, if any. */
function packedFormat(magic: Buffer): string | undefined {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  if (magic.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (magic[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(magic[1])) return 'zlib';
  if (magic.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/**
 * The entries of a PyTorch checkpoint that are tensor storages: only in an
 * archive laid out as torch.save writes it (every entry under one folder A,
 * with A/data.pkl), only A/data/<key>. PyTorch reads those as raw bytes and
 * never unpickles them; anywhere else a member is scanned.
 */
function torchStorage(entries: ZipEntry[]): ((name: string) => boolean) | undefined {
  const folder = entries[0]?.name.split('/')[0];
  if (!folder || !entries.every((entry) => entry.name.startsWith(`${folder}/`)) || !entries.some((entry) => entry.name === `${folder}/data.pkl`)) return undefined;
  const storages = `${folder}/data/`;
  return (name) => name.startsWith(storages) && !name.slice(storages.length).includes('/');
}

/** One file's scan, descending into archives; findings are appended to the shared list. */
class StreamScan {
  constructor(
    private readonly policy: ScanPolicy,
    private readonly findings: SecurityFinding[],
  ) {}

  /**
   * A file ONNX external data names is tensor bytes to onnxruntime, but
   * whatever its content says to anyone loading it directly: torch.load and
   * pickle.load unpickle a weights.bin from its first byte, with or without a
   * PROTO header. So it is read as a pickle too, and what would run code is
   * reported; bytes that do not parse, or parse into nothing dangerous, are
   * just tensor data (random floats spell a dangerous import by chance about
   * never).
   */
  async tensorData(source: ByteSource, place: ScanPlace): Promise<ScannedFormat> {
    const magic = await source.read(0, Math.min(source.size, MAGIC_BYTES));
    if (looksLikeZip(magic) || isNpy(magic)) return this.stream(source, place, '', 0);
    const findings = await scanPickles(source, place, { maxBytes: this.policy.maxMemberBytes, allowedGlobals: this.policy.allowedGlobals });
    this.findings.push(...findings.filter((finding) => finding.severity === 'CRITICAL'));
    return 'onnx-external-data';
  }

  /** Scans `source` as what its name and first bytes say it is, and returns what that was. */
  async stream(source: ByteSource, place: ScanPlace, name: string, depth: number): Promise<ScannedFormat> {
    const magic = await source.read(0, Math.min(source.size, MAGIC_BYTES));
    const lower = name.toLowerCase();
    if (lower.endsWith('.safetensors')) {
      this.findings.push(...(await scanSafetensors(source, place.file, place.path.join(' › ') || undefined)));
      return 'safetensors';
    }
    if (looksLikeZip(magic)) {
      await this.zip(source, place, depth);
      return 'zip';
    }
    if (lower.endsWith('.npy') || isNpy(magic)) {
      await this.npy(source, place);
      return 'npy';
    }
    if (PICKLE_EXTENSIONS.some((extension) => lower.endsWith(extension)) || looksLikePickle(magic)) {
      this.findings.push(...(await scanPickles(source, place, { maxBytes: this.policy.maxMemberBytes, allowedGlobals: this.policy.allowedGlobals })));
      return 'pickle';
    }
    const packed = packedFormat(magic);
    if (packed) this.flag(place, [], 'MEDIUM', 'unscanned_archive', `it is ${packed} data the scan does not unpack; joblib.load and torch.load unpack such files themselves, whatever their name`);
    return 'not scanned';
  }

  private async npy(source: ByteSource, place: ScanPlace): Promise<void> {
    try {
      const header = await readNpyHeader(source);
      if (!header.holdsObjects) return;
      // numpy pickles object arrays: loading one with allow_pickle unpickles this stream.
      const data = sliceSource(source, header.dataOffset, source.size - header.dataOffset);
      this.findings.push(...(await scanPickles(data, { ...place, path: [...place.path, 'object array data'] }, { maxBytes: this.policy.maxMemberBytes, allowedGlobals: this.policy.allowedGlobals })));
    } catch (error) {
      if (!(error instanceof NpyFormatError)) throw error;
      this.flag(place, [], 'HIGH', 'npy_unreadable', `it is not a readable .npy array (${error.message})`);
    }
  }

  private async zip(source: ByteSource, place: ScanPlace, depth: number): Promise<void> {
    if (depth > this.policy.maxZipDepth) {
      this.flag(place, [], 'HIGH', 'zip_nesting', `archives are nested ${depth} deep, beyond the policy's ${this.policy.maxZipDepth} (maxZipDepth): nesting multiplies a zip bomb`);
      return;
    }
    let entries: ZipEntry[];
    try {
      entries = await readZipDirectory(source, { maxEntries: this.policy.maxZipEntries });
    } catch (error) {
      if (!(error instanceof ZipFormatError)) throw error;
      this.flag(place, [], 'HIGH', 'zip_unreadable', `the archive cannot be read safely (${error.message})`);
      return;
    }
    const total = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
    if (total > this.policy.maxZipTotalBytes) {
      this.flag(place, [], 'HIGH', 'zip_bomb', `its entries unpack to ${total} bytes, over the policy's ${this.policy.maxZipTotalBytes} (maxZipTotalMiB)`);
      return;
    }
    const storage = torchStorage(entries);
    for (const entry of entries) {
      if (entry.name.endsWith('/') && entry.uncompressedSize === 0) continue;
      const unsafe = unsafeEntryPath(entry.name);
      if (unsafe) this.flag(place, [entry.name], 'CRITICAL', 'zip_path_traversal', `extracting it would write outside the target directory: ${unsafe}`);
      const ratio = entry.compressedSize === 0 ? (entry.uncompressedSize === 0 ? 0 : Infinity) : entry.uncompressedSize / entry.compressedSize;
      if (ratio > this.policy.maxZipRatio) {
        this.flag(place, [entry.name], 'HIGH', 'zip_bomb', `it inflates ${ratio === Infinity ? 'from nothing' : `${Math.round(ratio)}×`} (${entry.compressedSize} → ${entry.uncompressedSize} bytes), over the policy's ${this.policy.maxZipRatio}× (maxZipRatio)`);
        continue;
      }
      if (storage?.(entry.name)) continue;
      if (entry.method !== 0 && entry.uncompressedSize > this.policy.maxMemberBytes) {
        this.flag(place, [entry.name], 'HIGH', 'member_too_large', `it is compressed and unpacks to ${entry.uncompressedSize} bytes, more than the ${this.policy.maxMemberBytes} the scanner may inflate (maxMemberMiB)`);
        continue;
      }
      try {
        const member = await openZipEntry(source, entry, { maxBytes: this.policy.maxMemberBytes });
        await this.stream(member, { ...place, path: [...place.path, entry.name] }, entry.name, depth + 1);
      } catch (error) {
        if (!(error instanceof ZipFormatError)) throw error;
        this.flag(place, [entry.name], 'HIGH', error instanceof ZipBombError ? 'zip_bomb' : 'zip_unreadable', `the member cannot be read safely (${error.message})`);
      }
    }
  }

  private flag(place: ScanPlace, inner: string[], severity: SecurityFinding['severity'], rule: string, why: string): void {
    this.findings.push({ severity, rule, file: place.file, location: locate(place, ...inner), why });
  }
}
