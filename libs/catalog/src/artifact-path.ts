import { UnsafePathError } from './errors';

/** In UTF-8 bytes, as Linux counts them: NAME_MAX per segment, and the whole path well inside PATH_MAX once under a workspace directory. */
const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * Turns the raw, still percent-encoded tail of a file URL into a safe
 * relative POSIX path, or throws {@link UnsafePathError}. Decoding happens
 * per segment so that an encoded "/" or "\" can never smuggle in structure.
 */
export function parseArtifactPath(rawTail: string): string {
  if (rawTail.length === 0) throw new UnsafePathError(rawTail, 'it is empty');
  if (rawTail.startsWith('/')) throw new UnsafePathError(rawTail, 'absolute paths are not allowed');
  const segments = rawTail.split('/').map((encoded) => {
    try {
      return decodeURIComponent(encoded);
    } catch {
      throw new UnsafePathError(rawTail, 'it is not valid percent-encoded UTF-8');
    }
  });
  return validateArtifactPath(segments.join('/'), segments);
}

/** Checks an already decoded relative path (as declared in a manifest). */
function validateArtifactPath(path: string, segments = path.split('/')): string {
  if (path.length === 0) throw new UnsafePathError(path, 'it is empty');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) throw new UnsafePathError(path, `it is longer than ${MAX_PATH_BYTES} bytes in UTF-8`);
  for (const segment of segments) {
    if (segment.length === 0) throw new UnsafePathError(path, 'empty path segments ("//", leading or trailing "/") are not allowed');
    if (segment === '.' || segment === '..') throw new UnsafePathError(path, '"." and ".." segments are not allowed');
    if (segment.includes('/')) throw new UnsafePathError(path, 'encoded "/" inside a segment is not allowed');
    if (segment.includes('\\')) throw new UnsafePathError(path, 'backslashes are not allowed');
    if (/[\u0000-\u001f\u007f]/.test(segment)) throw new UnsafePathError(path, 'NUL and control characters are not allowed');
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      throw new UnsafePathError(path, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes in UTF-8, more than a file name may be on disk`);
    }
  }
  if (/^[A-Za-z]:/.test(segments[0])) throw new UnsafePathError(path, 'drive-letter paths are not allowed');
  return segments.join('/');
}

const MEDIA_TYPES: Record<string, string> = {
  onnx: 'application/onnx',
  json: 'application/json',
  jsonl: 'application/jsonl',
  txt: 'text/plain',
  md: 'text/markdown',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  csv: 'text/csv',
};

export function mediaTypeOf(path: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return (extension && MEDIA_TYPES[extension]) ?? 'application/octet-stream';
}

/** The artifact format a version's files imply, most specific first. */
export function detectFormat(paths: string[]): string {
  const extensions = new Set(paths.map((p) => /\.([A-Za-z0-9]+)$/.exec(p)?.[1]?.toLowerCase()));
  if (extensions.has('onnx')) return 'onnx';
  if (extensions.has('safetensors')) return 'safetensors';
  if (['pt', 'pth', 'ckpt'].some((e) => extensions.has(e))) return 'pytorch';
  if (['pkl', 'pickle', 'joblib'].some((e) => extensions.has(e))) return 'pickle';
  return 'other';
}
