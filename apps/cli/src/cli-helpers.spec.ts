import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectFiles, encodeFilePath, safeDestination } from './local-files';
import { formatBytes, formatTable } from './output';
import { parseDatasetRef, parseVersionRef, UsageError } from './references';

describe('references', () => {
  it('parses model@version with an optional relation', () => {
    expect(parseVersionRef('base@1.0.0')).toEqual({ model: 'base', version: '1.0.0' });
    expect(parseVersionRef('base@2.0.0-rc.1:fine_tuned_from')).toEqual({ model: 'base', version: '2.0.0-rc.1', relation: 'fine_tuned_from' });
    for (const bad of ['base', 'base@', '@1.0.0', 'a@b@c', 'base@1.0.0:Bad-Relation']) expect(() => parseVersionRef(bad)).toThrow(UsageError);
  });

  it('parses name@version:role and names the allowed roles', () => {
    expect(parseDatasetRef('tx@2024-11:training')).toEqual({ name: 'tx', version: '2024-11', role: 'training' });
    expect(() => parseDatasetRef('tx@2024-11')).toThrow(/training, validation, evaluation or reference/);
    expect(() => parseDatasetRef('tx@1:testing')).toThrow(UsageError);
  });
});

describe('output', () => {
  it('aligns table columns and shows missing cells as "-"', () => {
    expect(formatTable(['NAME', 'SIZE'], [['a', 1], ['longer', null]])).toBe('NAME    SIZE\n------  ----\na       1\nlonger  -\n');
  });

  it('formats sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatBytes(null)).toBe('-');
  });
});

describe('local files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-files-'));
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'a-b.txt'), 'x');
    await writeFile(join(dir, 'a', 'b', 'c.bin'), 'yy');
    await writeFile(join(dir, 'a.txt'), 'z');
    await symlink(join(dir, 'a.txt'), join(dir, 'link.txt'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('walks a directory in manifest order and skips symlinks', async () => {
    const { files, skippedSymlinks } = await collectFiles(dir);
    expect(files.map((f) => [f.path, f.size])).toEqual([['a/b/c.bin', 2], ['a-b.txt', 1], ['a.txt', 1]]);
    expect(skippedSymlinks).toEqual(['link.txt']);
  });

  it('takes a single file by its name', async () => {
    expect((await collectFiles(join(dir, 'a.txt'))).files.map((f) => f.path)).toEqual(['a.txt']);
  });

  it('never writes outside the download directory', () => {
    expect(safeDestination('/tmp/out', 'a/b.bin')).toBe('/tmp/out/a/b.bin');
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b']) expect(() => safeDestination('/tmp/out', bad)).toThrow(/outside/);
  });

  it('encodes each path segment on its own', () => {
    expect(encodeFilePath('dir name/a#b?.bin')).toBe('dir%20name/a%23b%3F.bin');
  });
});
