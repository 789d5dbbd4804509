import { formatBytes, formatFields, formatTable } from './output';

describe('formatTable', () => {
  it('aligns columns to the widest cell and shows missing cells as "-"', () => {
    expect(
      formatTable(
        ['NAME', 'SIZE'],
        [
          ['a', 1],
          ['longer', null],
        ],
      ),
    ).toBe('NAME    SIZE\n------  ----\na       1\nlonger  -\n');
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID  NAME\n--  ----\n');
  });
});

describe('formatFields', () => {
  it('aligns values after their keys', () => {
    expect(
      formatFields([
        ['status', 'registered'],
        ['committed', null],
      ]),
    ).toBe('status:    registered\ncommitted: -\n');
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatBytes(null)).toBe('-');
  });
});
