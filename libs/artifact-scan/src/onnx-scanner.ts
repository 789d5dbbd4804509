/**
 * Static checks of a parsed ONNX model for what a runtime would do on load
 * beyond reading the .onnx file: read other files named by tensors' external
 * data, and call operators that only a custom-op library (native code) can
 * provide. Nothing is executed and no file is read: the sizes of the
 * version's files come from its manifest.
 */
import { posix } from 'node:path';
import type { onnx } from 'onnx-proto';
import { externalDataOf, type GraphLocation, type OnnxModel } from '@gatehouse/onnx';
import { sortFindings, type FindingSeverity, type SecurityFinding } from './finding';

/** Operator domains the ONNX standard defines; every runtime implements them itself. */
const STANDARD_ONNX_DOMAINS: readonly string[] = ['', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training'];

export interface OnnxScanOptions {
  /** Further operator domains the deployment provides, e.g. `com.microsoft` for onnxruntime's built-in contrib ops. */
  allowedDomains: readonly string[];
}

const EXTERNAL_DATA_KEYS = new Set(['location', 'offset', 'length', 'checksum', 'basepath']);
/** onnxruntime's marker for "offset is a pointer into this process's memory", meant only for tensors it builds itself. */
const ORT_MEMORY_ADDRESS = '*/_ORT_MEM_ADDR_/*';

type Place = Omit<SecurityFinding, 'file'>;

/**
 * Every finding for the model stored at manifest path `file` in a version
 * whose files (manifest path → size in bytes) are `versionFiles`, most severe first.
 */
export function scanOnnxModel(model: OnnxModel, file: string, versionFiles: ReadonlyMap<string, number>, options: OnnxScanOptions): SecurityFinding[] {
  const findings: Place[] = [];
  const provided = new Set([...STANDARD_ONNX_DOMAINS, ...options.allowedDomains]);
  const functions = model.proto.functions ?? [];
  const localFunctions = new Set(functions.map((fn) => `${fn.domain ?? ''}:${fn.name ?? ''}`));
  const usedDomains = new Set<string>();
  for (const graph of model.graphs()) {
    for (const { location, tensor } of tensorsOf(graph)) findings.push(...externalDataFindings(tensor, location, file, versionFiles));
    (graph.graph.node ?? []).forEach((node, index) => {
      const domain = node.domain ?? '';
      usedDomains.add(domain);
      if (provided.has(domain) || localFunctions.has(`${domain}:${node.opType ?? ''}`)) return;
      findings.push({
        severity: 'HIGH',
        rule: 'custom_operator',
        location: `${nodeLocation(graph.path, node, index)} (${domain}:${node.opType})`,
        why: `operator ${node.opType} of domain ${domain} is neither standard nor allowed: only a custom-op library provides it, so the runtime must be given a native shared library and would load and run its code`,
      });
    });
  }
  // An imported domain no node uses loads nothing; still worth a note: the model was built for a runtime with that library.
  const declared = new Set(functions.map((fn) => fn.domain ?? ''));
  for (const { domain } of model.opsets) {
    if (provided.has(domain) || usedDomains.has(domain) || declared.has(domain)) continue;
    findings.push({
      severity: 'LOW',
      rule: 'unused_custom_domain',
      location: `opset_import ${domain}`,
      why: `the model imports operator domain ${domain} but no node uses it: harmless to load, yet it was exported for a runtime extended with that domain's custom ops`,
    });
  }
  return sortFindings(findings.map((finding) => ({ ...finding, file })));
}

/** Version paths of the files the model's tensors keep their bytes in, resolved beside the model as onnxruntime does. */
export function externalDataFiles(model: OnnxModel, file: string): Set<string> {
  const paths = new Set<string>();
  for (const graph of model.graphs()) {
    for (const { tensor } of tensorsOf(graph)) {
      const location = externalDataOf(tensor)?.location;
      if (location) paths.add(posix.normalize(posix.join(posix.dirname(file), location)));
    }
  }
  return paths;
}

/** Every tensor a graph holds, each of which may be external: initializers, sparse initializers' parts, tensor-valued node attributes. */
function* tensorsOf({ path, graph }: GraphLocation): Generator<{ location: string; tensor: onnx.ITensorProto }> {
  for (const tensor of graph.initializer ?? []) yield { location: `${path} › initializer ${tensor.name}`, tensor };
  for (const sparse of graph.sparseInitializer ?? []) yield* sparseParts(`${path} › sparse initializer ${sparse.values?.name ?? ''}`, sparse);
  for (const [index, node] of (graph.node ?? []).entries()) {
    for (const attribute of node.attribute ?? []) {
      const where = `${nodeLocation(path, node, index)} › attribute ${attribute.name}`;
      if (attribute.t) yield { location: where, tensor: attribute.t };
      for (const [at, tensor] of (attribute.tensors ?? []).entries()) yield { location: `${where}[${at}]`, tensor };
      if (attribute.sparseTensor) yield* sparseParts(where, attribute.sparseTensor);
      for (const [at, sparse] of (attribute.sparseTensors ?? []).entries()) yield* sparseParts(`${where}[${at}]`, sparse);
    }
  }
}

function* sparseParts(where: string, sparse: onnx.ISparseTensorProto): Generator<{ location: string; tensor: onnx.ITensorProto }> {
  if (sparse.values) yield { location: `${where} values`, tensor: sparse.values };
  if (sparse.indices) yield { location: `${where} indices`, tensor: sparse.indices };
}

/**
 * Severities: a location escaping the version makes the runtime read any host
 * file (keys, other tenants' models) or process memory into a tensor that
 * inference can hand back, without running any code: CRITICAL. The others
 * stay inside the version's directory but make what the runtime reads differ
 * from what the registry vouched for (a missing file is whatever sits beside
 * the model at deploy time; unknown or repeated keys are read differently by
 * different loaders; a bad range reads other bytes or fails): HIGH.
 */
function externalDataFindings(tensor: onnx.ITensorProto, location: string, file: string, versionFiles: ReadonlyMap<string, number>): Place[] {
  const ref = externalDataOf(tensor);
  if (!ref) return [];
  const findings: Place[] = [];
  const found = (severity: FindingSeverity, rule: string, why: string) => findings.push({ severity, rule, location, why });
  const keys = (tensor.externalData ?? []).map((entry) => entry.key ?? '');
  const unknown = [...new Set(keys.filter((key) => !EXTERNAL_DATA_KEYS.has(key)))];
  if (unknown.length > 0)
    found(
      'HIGH',
      'external_data_unknown_key',
      `external data key(s) ${unknown.join(', ')} are not in the ONNX spec; loaders differ on them (onnxruntime refuses, others ignore or honour them)`,
    );
  const repeated = [...new Set(keys.filter((key, index) => keys.indexOf(key) !== index))];
  if (repeated.length > 0) found('HIGH', 'external_data_duplicate_key', `external data key(s) ${repeated.join(', ')} appear more than once; loaders disagree on which value wins`);
  // Every location and basepath value, not only the one that wins here: another loader may take a different one.
  for (const { key, value } of tensor.externalData ?? []) {
    if (key === 'location' && value === ORT_MEMORY_ADDRESS) {
      found(
        'CRITICAL',
        'external_data_memory_address',
        `external data location is onnxruntime's in-memory marker ${value}: its offset would be used as a pointer, reading arbitrary process memory`,
      );
    } else if ((key === 'location' || key === 'basepath') && escapesVersion(value ?? '')) {
      found(
        'CRITICAL',
        'external_data_path_traversal',
        `external data ${key} ${value} points outside the model's directory: the runtime would read that host file into the tensor`,
      );
    }
  }
  if (findings.some((finding) => finding.severity === 'CRITICAL')) return findings;
  if (ref.location === '') {
    found('HIGH', 'external_data_no_location', 'the tensor is marked external but names no file');
    return findings;
  }
  // null: present but not a byte count; length undefined: absent, the tensor runs to the end of the file.
  const offset = ref.entries.offset === undefined ? 0 : byteCount(ref.entries.offset);
  const length = ref.entries.length === undefined ? undefined : byteCount(ref.entries.length);
  if (offset === null || length === null) {
    found(
      'HIGH',
      'external_data_invalid_range',
      `external data offset and length must be absent or non-negative decimal integers, not offset ${JSON.stringify(ref.entries.offset ?? null)}, length ${JSON.stringify(ref.entries.length ?? null)}`,
    );
  }
  // Resolved as onnxruntime does: relative to the directory holding the .onnx file.
  const target = posix.normalize(posix.join(posix.dirname(file), ref.location));
  const size = versionFiles.get(target);
  if (size === undefined) {
    found('HIGH', 'external_data_missing_file', `external data names ${target}, which is not a file of this version: the runtime would read whatever is there at deploy time`);
  } else if (offset !== null && length !== null && offset + (length ?? 0) > size) {
    const range = length === undefined ? `offset ${offset}` : `bytes [${offset}, ${offset + length})`;
    found('HIGH', 'external_data_out_of_bounds', `external data ${range} lie past the end of ${target} (${size} bytes)`);
  }
  return findings;
}

/**
 * Absolute on either OS (`/x`, `\x`, `\\server\x`, `C:\x`, `C:x`), or
 * containing `..` anywhere, as the issue asks, not only as a whole path
 * segment: which characters separate segments depends on the loading OS
 * (`a\..\b` climbs on Windows only), and a real data file named with `..` is
 * rare enough to be worth a look.
 */
function escapesVersion(location: string): boolean {
  return location.includes('..') || /^[\\/]/.test(location) || /^[A-Za-z]:/.test(location);
}

/** A decimal byte count, or null: `Number()` would also take '', ' 1', '1e3' and '0x10', which loaders read differently. */
function byteCount(text: string): number | null {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
}

function nodeLocation(path: string, node: onnx.INodeProto, index: number): string {
  return `${path} › node ${node.name || `#${index}`}`;
}
