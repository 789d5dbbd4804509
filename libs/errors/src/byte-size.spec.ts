import { formatBytes } from './byte-size';

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1, '1 byte'],
    [1023, '1023 bytes'],
    [1024, '1 KiB'],
    [4 * 1024 ** 2, '4 MiB'],
    [2 * 1024 ** 3, '2 GiB'],
    [20 * 1024 ** 3, '20 GiB'],
    [3 * 1024 ** 4, '3 TiB'],
    [2048 * 1024 ** 4, '2048 TiB'],
  ])('shows %d bytes as %s', (bytes, shown) => {
    expect(formatBytes(bytes)).toBe(shown);
  });

  it('keeps the exact count beside a unit that rounds it', () => {
    expect(formatBytes(1.5 * 1024 ** 2)).toBe('1.5 MiB, 1572864 bytes');
    expect(formatBytes(1024 ** 2 + 1)).toBe('1.0 MiB, 1048577 bytes');
  });
});
