import type { TensorSpec } from './registry-types';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `447 B`, `1.5 KiB`, `12.0 MiB`: sizes in binary units, one decimal past bytes. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `features float32 [batch, 8]` */
export function describeTensor(tensor: TensorSpec): string {
  return `${tensor.name} ${tensor.dtype} [${tensor.shape.join(', ')}]`;
}

/** A JSON object's entries as label and text, sorted by key: values that are not strings shown as JSON. */
export function entriesOf(object: Record<string, unknown>): [string, string][] {
  return Object.entries(object)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]);
}

/** The path of a version's file in the API, each segment encoded. */
export function fileUrl(model: string, version: string, path: string): string {
  return `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}
