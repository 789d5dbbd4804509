import { open, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { OnnxModel } from '@gatehouse/onnx';
import { fileSource, sliceSource, type ByteSource } from './byte-source';
import { sortFindings, type SecurityFinding } from './finding';
import { NpyFormatError, readNpyHeader } from './numpy-format';
import { externalDataFiles, scanOnnxModel } from './onnx-scanner';
import { unsafeArchivePath } from './archive-paths';
import { findSuperblock } from './hdf5-reader';
import { isLegacyTorchTar, scanLegacyTorchMember } from './legacy-torch-tar';
import { InflateBudget, InflateBudgetError } from './inflate-budget';
import { isKerasArchive, KERAS_ARCHIVE_CONFIG, KERAS_MAX_CONFIG_BYTES, scanHdf5, scanKerasArchiveConfig } from './keras-scanner';
import { PACKED_MAGIC_BYTES, PackedStreamError, sniffPacked, unpack, unpackRefusal, type PackedKind, type UnpackedSource } from './packed-streams';
import { locate, scanPickles, type ScanPlace } from './pickle-scanner';
import { scanSafetensors } from './safetensors-scanner';
import { looksLikeTar, readTarMembers, resolveTarLink, TarFormatError, type TarMember } from './tar-reader';
import { looksLikeZip, openZipEntry, prependedZipLength, readZipDirectory, ZipBombError, ZipFormatError, type ZipEntry } from './zip-reader';

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
  /** Bytes inflated across every compressed member of every file of the version, together. */
  maxInflateBytes: number;
  allowedGlobals: readonly string[];
  allowedOnnxDomains: readonly string[];
}

export type ScannedFormat = 'onnx' | 'onnx-external-data' | 'safetensors' | 'zip' | 'tar' | 'compressed' | 'pickle' | 'npy' | 'hdf5' | 'data' | 'not scanned';

export interface ArtifactScan {
  findings: SecurityFinding[];
  files: { path: string; format: ScannedFormat }[];
}

/** Enough for every signature sniffed, a whole tar header included. */
const MAGIC_BYTES = 512;
/** Kinds decoded by the very library Python's own modules use (zlib), so both break at the same byte. */
const SAME_DECODER_AS_PYTHON: readonly PackedKind[] = ['gzip', 'zlib', 'joblib-zfile'];

/**
 * Scans every file of a version without loading or executing anything. What
 * a file is comes from its bytes, never its name: every file and every
 * archive member is read as a pickle (which needs no magic) and as whatever
 * container or array format its first bytes announce, in full, whatever
 * references it. ONNX files are also checked as graphs. A file that cannot
 * be scanned is a finding, never a pass.
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
  const externalData = new Set<string>();
  for (const file of files.filter((candidate) => candidate.path.toLowerCase().endsWith('.onnx'))) {
    let model: OnnxModel;
    try {
      model = await (parsedOnnx(file.path) ?? readFile(posix.join(directory, file.path)).then((bytes) => OnnxModel.parse(bytes)));
    } catch (error) {
      findings.push({
        severity: 'HIGH',
        rule: 'onnx_unreadable',
        file: file.path,
        location: '(whole file)',
        why: `it does not parse as ONNX (${(error as Error).message}), so it cannot be scanned`,
      });
      continue;
    }
    formats.set(file.path, 'onnx');
    findings.push(...scanOnnxModel(model, file.path, sizes, { allowedDomains: policy.allowedOnnxDomains }));
    for (const path of externalDataFiles(model, file.path)) externalData.add(path);
  }
  const scan = new StreamScan(policy, findings, new InflateBudget(policy.maxInflateBytes));
  for (const file of files) {
    try {
      const handle = await open(posix.join(directory, file.path), 'r');
      try {
        const format = await scan.stream(fileSource(handle, (await handle.stat()).size), { file: file.path, path: [] }, file.path, 0);
        if (!formats.has(file.path)) formats.set(file.path, format === 'data' && externalData.has(file.path) ? 'onnx-external-data' : format);
      } finally {
        await handle.close();
      }
    } catch (error) {
      formats.set(file.path, 'not scanned');
      findings.push({
        severity: 'HIGH',
        rule: 'scan_error',
        file: file.path,
        location: '(whole file)',
        why: `the scan could not finish (${(error as Error).message}), so the file is not known to be safe`,
      });
    }
  }
  return { findings: sortFindings(findings), files: files.map((file) => ({ path: file.path, format: formats.get(file.path)! })) };
}

const isNpy = (magic: Buffer) => magic.subarray(0, 6).toString('latin1') === '\x93NUMPY';

/** safetensors has no magic: an 8-byte little-endian header length, then the JSON header, which opens with `{`. */
function looksLikeSafetensors(magic: Buffer, size: number): boolean {
  if (magic.length < 9 || magic[8] !== 0x7b) return false;
  const length = magic.readBigUInt64LE(0);
  return length >= 2n && length <= BigInt(size - 8);
}

/**
 * The entries of a PyTorch checkpoint that are tensor storages, which
 * PyTorch reads as raw bytes and never unpickles: only in an archive laid
 * out as torch.save writes it (every entry under one folder A, with A/data.pkl
 * and A/version), and only the A/data/<key> entries whose key a persistent id
 * in A/data.pkl names. Anywhere else, or unnamed, an entry is scanned.
 */
function torchLayout(entries: ZipEntry[]): { folder: string; pickle: ZipEntry } | undefined {
  const folder = entries[0]?.name.split('/')[0];
  if (!folder || !entries.every((entry) => entry.name.startsWith(`${folder}/`))) return undefined;
  const pickle = entries.find((entry) => entry.name === `${folder}/data.pkl`);
  const version = entries.some((entry) => entry.name === `${folder}/version` || entry.name === `${folder}/.data/version`);
  return pickle && version ? { folder, pickle } : undefined;
}

/** One version's scan, descending into archives; findings are appended to the shared list, inflation to the shared budget. */
class StreamScan {
  constructor(
    private readonly policy: ScanPolicy,
    private readonly findings: SecurityFinding[],
    private readonly budget: InflateBudget,
  ) {}

  private get pickleOptions() {
    return { maxBytes: this.policy.maxMemberBytes, allowedGlobals: this.policy.allowedGlobals };
  }

  /**
   * Scans `source` as a pickle, which any bytes may be to `pickle.load` and
   * `torch.load`, and as what its first bytes say it is, and returns what it
   * was. Its name is only used to say where a finding is.
   */
  async stream(source: ByteSource, place: ScanPlace, name: string, depth: number): Promise<ScannedFormat> {
    // A zip opens with PERSID, which pickle.load cannot get past without a persistent_load, and the one loader that has one,
    // torch.load, reads zips as zips: its members are what gets unpickled.
    const magic = await source.read(0, Math.min(source.size, MAGIC_BYTES));
    const pickle = looksLikeZip(magic) ? undefined : await scanPickles(source, place, this.pickleOptions);
    this.findings.push(...(pickle?.findings ?? []));
    return (await this.container(source, magic, place, name, depth)) ?? (pickle?.isPickle ? 'pickle' : 'data');
  }

  /**
   * Scans every container or array format the bytes announce, and returns
   * the first; undefined when they announce none. One file can be two
   * (a tar header's name field may hold a gzip header), and each loader
   * reads its own, so each is read.
   */
  private async container(source: ByteSource, magic: Buffer, place: ScanPlace, name: string, depth: number): Promise<ScannedFormat | undefined> {
    const formats: ScannedFormat[] = [];
    if (looksLikeZip(magic)) {
      await this.zip(source, place, name, depth);
      formats.push('zip');
    } else {
      const prefix = await prependedZipLength(source);
      if (prefix !== null) {
        this.flag(
          place,
          [],
          'HIGH',
          'zip_with_prefix',
          `it is a zip after ${prefix} bytes of other data, which CPython's zipfile (and so Keras) reads and PyTorch and numpy do not, so what it holds is refused rather than read one way`,
        );
        formats.push('zip');
      }
    }
    if (isNpy(magic)) {
      await this.npy(source, place);
      formats.push('npy');
    }
    if (name.toLowerCase().endsWith('.safetensors') || looksLikeSafetensors(magic, source.size)) {
      this.findings.push(...(await scanSafetensors(source, place.file, place.path.join(' › ') || undefined)));
      formats.push('safetensors');
    }
    // At 0, or behind a user block at 512, 1024, …
    if ((await findSuperblock(source)) !== undefined) {
      this.findings.push(...(await scanHdf5(source, place)));
      formats.push('hdf5');
    }
    const packed = sniffPacked(magic.subarray(0, PACKED_MAGIC_BYTES));
    if (packed) formats.push(await this.packed(source, packed, place, name, depth));
    if (looksLikeTar(magic)) {
      await this.tar(source, place, depth);
      formats.push('tar');
    }
    return formats[0];
  }

  /** A compressed stream, scanned as the bytes a loader unpacks from it (joblib.load and torch.load unpack such files whatever their name). */
  private async packed(source: ByteSource, kind: PackedKind, place: ScanPlace, name: string, depth: number): Promise<ScannedFormat> {
    const refusal = unpackRefusal(kind);
    if (refusal) {
      this.flag(place, [], 'HIGH', 'unscannable_archive', `it is ${kind} data, which loaders unpack by themselves, and ${refusal}, so it is refused`);
      return 'not scanned';
    }
    if (this.tooDeep(place, depth)) return 'compressed';
    const inner = { ...place, path: [...place.path, `${kind} data`] };
    const innerName = name.replace(/\.(gz|z|bz2|xz|lzma|lz4|zst|zstd)$/i, '');
    let unpacked: UnpackedSource;
    try {
      unpacked = await unpack(source, kind, this.budget, locate(place) === '(whole file)' ? place.file : `${place.file} › ${locate(place)}`);
    } catch (error) {
      if (error instanceof InflateBudgetError) this.flag(place, [], 'HIGH', 'inflate_budget', error.message);
      else if (!(error instanceof PackedStreamError)) throw error;
      else if (SAME_DECODER_AS_PYTHON.includes(kind)) {
        // Python's gzip and zlib run the same zlib, so they break where this one does, after yielding what it yielded: that much is
        // what a loader unpickles, and it is scanned. Random bytes that merely open like zlib (1 file in 16,384) yield nothing.
        this.flag(
          place,
          [],
          'MEDIUM',
          'packed_stream_broken',
          `the ${kind} stream breaks (${error.message}); loaders fail there too, and what they unpack before the break was scanned`,
        );
        const before = error.unpackedBeforeBreak;
        try {
          if (before?.size) await this.stream(before, inner, innerName, depth + 1);
        } finally {
          before?.release();
        }
      } else {
        // The other decoders are ports: where one breaks, Python's may read on, so the file is refused.
        error.unpackedBeforeBreak?.release();
        this.flag(
          place,
          [],
          'HIGH',
          'packed_unreadable',
          `the ${kind} stream cannot be read exactly as Python reads it (${error.message}), so what it holds is not known to be safe`,
        );
      }
      return 'compressed';
    }
    try {
      await this.stream(unpacked, inner, innerName, depth + 1);
    } finally {
      unpacked.release();
    }
    return 'compressed';
  }

  private async tar(source: ByteSource, place: ScanPlace, depth: number): Promise<void> {
    if (this.tooDeep(place, depth)) return;
    let members: TarMember[];
    try {
      members = await readTarMembers(source, { maxEntries: this.policy.maxZipEntries });
    } catch (error) {
      if (!(error instanceof TarFormatError)) throw error;
      this.flag(place, [], 'HIGH', 'tar_unreadable', `the archive cannot be read safely (${error.message})`);
      return;
    }
    const legacyTorch = isLegacyTorchTar(members);
    for (const member of members) {
      // A link reads as the member it resolves to (tarfile.extractfile follows it), so its target's bytes are scanned under its name.
      const target = member.type === 'symlink' || member.type === 'hardlink' ? resolveTarLink(members, member) : member;
      if (target?.type !== 'file') continue;
      const inner = { ...place, path: [...place.path, member.name] };
      if (legacyTorch && target === member && (member.name === 'storages' || member.name === 'tensors'))
        this.findings.push(...(await scanLegacyTorchMember(member, inner, this.pickleOptions)));
      else await this.stream(target.data, inner, member.name, depth + 1);
    }
  }

  /** Archives and compressed streams nest at most maxZipDepth deep: nesting multiplies a bomb. */
  private tooDeep(place: ScanPlace, depth: number): boolean {
    if (depth <= this.policy.maxZipDepth) return false;
    this.flag(place, [], 'HIGH', 'zip_nesting', `archives are nested ${depth} deep, beyond the policy's ${this.policy.maxZipDepth} (maxZipDepth): nesting multiplies a zip bomb`);
    return true;
  }

  private async npy(source: ByteSource, place: ScanPlace): Promise<void> {
    try {
      const header = await readNpyHeader(source);
      if (!header.holdsObjects) return;
      // numpy pickles object arrays: loading one with allow_pickle unpickles this stream.
      const data = sliceSource(source, header.dataOffset, source.size - header.dataOffset);
      const objects = await scanPickles(data, { ...place, path: [...place.path, 'object array data'] }, this.pickleOptions);
      this.findings.push(...objects.findings);
      if (!objects.isPickle)
        this.flag(place, ['object array data'], 'HIGH', 'npy_unreadable', 'its dtype holds Python objects, yet the data after the header does not read as the pickle numpy writes');
    } catch (error) {
      if (!(error instanceof NpyFormatError)) throw error;
      this.flag(place, [], 'HIGH', 'npy_unreadable', `it is not a readable .npy array (${error.message})`);
    }
  }

  private async zip(source: ByteSource, place: ScanPlace, name: string, depth: number): Promise<void> {
    if (this.tooDeep(place, depth)) return;
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
    // keras.saving.load_model reads config.json from any zip it is handed; metadata.json marks one saved under another name.
    const names = entries.map((entry) => entry.name);
    const keras = isKerasArchive(names) && (name.toLowerCase().endsWith('.keras') || names.includes('metadata.json'));
    const torch = torchLayout(entries);
    // The checkpoint's pickle goes first: the storages it names are what may be skipped.
    const ordered = torch ? [torch.pickle, ...entries.filter((entry) => entry !== torch.pickle)] : entries;
    const storages = new Set<string>();
    for (const entry of ordered) {
      if (entry.name.endsWith('/') && entry.uncompressedSize === 0) continue;
      const unsafe = unsafeArchivePath(entry.name);
      if (unsafe) this.flag(place, [entry.name], 'CRITICAL', 'zip_path_traversal', `extracting it would write outside the target directory: ${unsafe}`);
      const ratio = entry.compressedSize === 0 ? (entry.uncompressedSize === 0 ? 0 : Infinity) : entry.uncompressedSize / entry.compressedSize;
      if (ratio > this.policy.maxZipRatio) {
        this.flag(
          place,
          [entry.name],
          'HIGH',
          'zip_bomb',
          `it inflates ${ratio === Infinity ? 'from nothing' : `${Math.round(ratio)}×`} (${entry.compressedSize} → ${entry.uncompressedSize} bytes), over the policy's ${this.policy.maxZipRatio}× (maxZipRatio)`,
        );
        continue;
      }
      if (entry.method !== 0 && entry.uncompressedSize > this.policy.maxMemberBytes) {
        this.flag(
          place,
          [entry.name],
          'HIGH',
          'member_too_large',
          `it is compressed and unpacks to ${entry.uncompressedSize} bytes, more than the ${this.policy.maxMemberBytes} the scanner may inflate (maxMemberMiB)`,
        );
        continue;
      }
      try {
        const member = await openZipEntry(source, entry, { maxBytes: this.policy.maxMemberBytes, budget: this.budget });
        const inner = { ...place, path: [...place.path, entry.name] };
        if (storages.has(entry.name) && entry.method === 0 && !isNpy(await member.read(0, Math.min(member.size, 6)))) continue;
        if (keras && entry.name === KERAS_ARCHIVE_CONFIG) {
          if (member.size > KERAS_MAX_CONFIG_BYTES)
            this.flag(
              inner,
              [],
              'HIGH',
              'keras_unreadable',
              `the config is ${member.size} bytes, over the ${KERAS_MAX_CONFIG_BYTES} the scan reads, so it is not known to be safe`,
            );
          else this.findings.push(...scanKerasArchiveConfig(await member.read(0, member.size), inner));
          continue;
        }
        if (entry === torch?.pickle) {
          const pickle = await scanPickles(member, inner, this.pickleOptions);
          this.findings.push(...pickle.findings);
          for (const key of pickle.storageKeys) storages.add(`${torch.folder}/data/${key}`);
          continue;
        }
        await this.stream(member, inner, entry.name, depth + 1);
      } catch (error) {
        if (error instanceof InflateBudgetError) {
          this.flag(place, [entry.name], 'HIGH', 'inflate_budget', error.message);
          return;
        }
        if (!(error instanceof ZipFormatError)) throw error;
        this.flag(place, [entry.name], 'HIGH', error instanceof ZipBombError ? 'zip_bomb' : 'zip_unreadable', `the member cannot be read safely (${error.message})`);
      }
    }
  }

  private flag(place: ScanPlace, inner: string[], severity: SecurityFinding['severity'], rule: string, why: string): void {
    this.findings.push({ severity, rule, file: place.file, location: locate(place, ...inner), why });
  }
}
