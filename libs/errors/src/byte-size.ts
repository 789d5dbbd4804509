const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A byte count as an error message shows it: `2 GiB`, and the exact count too when the unit rounds it (`1.5 MiB, 1572864 bytes`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  let value = bytes;
  let unit: string = 'bytes';
  for (const next of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return Number.isInteger(value) ? `${value} ${unit}` : `${value.toFixed(1)} ${unit}, ${bytes} bytes`;
}
