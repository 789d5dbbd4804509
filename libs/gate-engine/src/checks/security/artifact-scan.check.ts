import type { CheckOutcome, GateCheck } from '../../check';
import { ModelFileError, type GateContext } from '../../gate-context';
import type { FindingSeverity, SecurityFinding } from '@gatehouse/artifact-scan';

const MIB = 1024 * 1024;

type Thresholds = {
  maxZipEntries: number;
  maxZipRatio: number;
  maxZipTotalMiB: number;
  maxZipDepth: number;
  maxMemberMiB: number;
  maxInflateMiB: number;
  allowedGlobals: readonly string[];
  allowedOnnxDomains: readonly string[];
};

/** Findings this severe fail the check; the rest only warn. */
const BLOCKING: readonly FindingSeverity[] = ['CRITICAL', 'HIGH'];

/**
 * Scans every file of the version for what could run code or escape the
 * model's directory when it is loaded, without loading it.
 */
export class ArtifactScanCheck implements GateCheck<Thresholds> {
  readonly id = 'artifact_scan';
  readonly family = 'security';
  readonly description = 'no file imports dangerous pickle globals, escapes the version through external data or zip paths, runs custom operators, or is malformed';
  readonly severity = 'critical';
  readonly thresholds = {
    maxZipEntries: { type: 'integer', min: 1, description: 'entries one archive may hold' },
    maxZipRatio: { type: 'number', min: 1, description: 'uncompressed ÷ compressed size of one archive entry' },
    maxZipTotalMiB: { type: 'number', min: 0, description: 'uncompressed size of all entries of one archive, in MiB' },
    maxZipDepth: { type: 'integer', min: 0, max: 16, description: 'archives nested inside archives' },
    maxMemberMiB: { type: 'number', min: 1, description: 'largest pickle stream, or compressed member to inflate, the scanner reads, in MiB' },
    maxInflateMiB: { type: 'number', min: 1, description: 'bytes the scan may inflate across all compressed members of all files of a version, together, in MiB' },
    allowedGlobals: { type: 'names', description: 'pickle globals to allow beyond the weights-only set, as module.name or module.*; the dangerous ones stay refused' },
    allowedOnnxDomains: { type: 'names', description: 'custom ONNX operator domains to allow, e.g. com.microsoft' },
  } as const;
  readonly defaults = {
    maxZipEntries: 100_000,
    maxZipRatio: 250,
    maxZipTotalMiB: 16_384,
    maxZipDepth: 2,
    maxMemberMiB: 1024,
    maxInflateMiB: 4096,
    allowedGlobals: [],
    allowedOnnxDomains: [],
  };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const { FINDING_SEVERITIES, scanArtifact, sortFindings } = await import('./artifact-scanner');
    const scan = await scanArtifact(
      context.workspace,
      context.subject.files,
      {
        maxZipEntries: thresholds.maxZipEntries,
        maxZipRatio: thresholds.maxZipRatio,
        maxZipTotalBytes: thresholds.maxZipTotalMiB * MIB,
        maxZipDepth: thresholds.maxZipDepth,
        maxMemberBytes: thresholds.maxMemberMiB * MIB,
        maxInflateBytes: thresholds.maxInflateMiB * MIB,
        allowedGlobals: thresholds.allowedGlobals,
        allowedOnnxDomains: thresholds.allowedOnnxDomains,
      },
      // The model the other checks load is parsed once for all of them.
      (path) => (path === loadedModelPath(context) ? context.onnxModel() : undefined),
    );
    const findings = sortFindings(scan.findings);
    const blocking = findings.filter((finding) => BLOCKING.includes(finding.severity));
    const details = { findings, files: scan.files };
    if (findings.length === 0) return { status: 'passed', value: 0, threshold: 0, message: `${scan.files.length} file(s) scanned, nothing found`, details };
    return {
      status: blocking.length > 0 ? 'failed' : 'warning',
      value: blocking.length,
      threshold: 0,
      message: `${countBySeverity(findings, FINDING_SEVERITIES)} in ${new Set(findings.map((finding) => finding.file)).size} file(s): ${findings.slice(0, 3).map(describe).join('; ')}${findings.length > 3 ? '; …' : ''}`,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    const rules = new Set(((result.details?.findings as SecurityFinding[] | undefined) ?? []).map((finding) => finding.rule));
    const advice = [
      (rules.has('dangerous_global') || rules.has('unknown_global')) &&
        'Do not load this file anywhere: it would run code. Re-export the weights as ONNX or safetensors from a trusted environment.',
      (rules.has('unlisted_global') || rules.has('attribute_walk')) &&
        'Only the globals torch.load(weights_only=True) accepts are allowed. Save weights as safetensors, ONNX or a state_dict; if the listed globals are expected and trusted, add them to artifact_scan.allowedGlobals in config/gates.json.',
      [...rules].some((rule) => rule.startsWith('zip_') || rule.startsWith('tar_') || rule === 'member_too_large' || rule === 'inflate_budget') &&
        'Repackage the archive without absolute or parent paths, prepended data or extreme compression, or raise the zip and inflate bounds if it is genuinely this large.',
      [...rules].some((rule) => rule.startsWith('pickle_') || rule === 'packed_unreadable' || rule === 'unscannable_archive' || rule === 'legacy_torch_unreadable') &&
        'The file cannot be read exactly as its loader would read it, so it is refused: re-save it with the current torch.save, numpy or joblib (gzip, zlib, bzip2, xz or zstd compression), or as safetensors or ONNX.',
      [...rules].some((rule) => rule.startsWith('keras_') || rule === 'hdf5_unreadable') &&
        'Keras models must not carry code: replace Lambda and custom layers with built-in ones, or export the model to ONNX.',
      [...rules].some((rule) => rule.startsWith('external_data')) &&
        'Save external data beside the model with relative paths inside the version (onnx.save_model(..., location="weights.bin")).',
      rules.has('custom_operator') &&
        'Custom operators need native code the runtime must load; allow their domain in artifact_scan.allowedOnnxDomains only if that library is trusted.',
    ].filter((line): line is string => Boolean(line));
    return advice.length ? advice.join(' ') : 'Fix or re-export the files named in the findings.';
  }
}

/** The ONNX file the gate's other checks load, or null when there is none or it is ambiguous (then each file is parsed on its own). */
function loadedModelPath(context: GateContext): string | null {
  try {
    return context.modelPath;
  } catch (error) {
    if (error instanceof ModelFileError) return null;
    throw error;
  }
}

function countBySeverity(findings: SecurityFinding[], severities: readonly FindingSeverity[]): string {
  return severities
    .map((severity) => [severity, findings.filter((finding) => finding.severity === severity).length] as const)
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`)
    .join(', ');
}

function describe(finding: SecurityFinding): string {
  const subject = finding.module !== undefined ? `${finding.module}.${finding.name}` : finding.rule;
  return `${subject} in ${finding.file} (${finding.location})`;
}
