import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { paxData, pythonTarListing, tarArchive, tarHeader, type TarEntry } from '../../../test/fixtures/packed-files';
import { zipArchive } from '../../../test/fixtures/zip-archives';
import { bufferSource } from './byte-source';
import { looksLikeTar, readTarMembers, resolveTarLink, TarFormatError, type TarMember } from './tar-reader';

const LIMITS = { maxEntries: 100 };
const text = (value: string) => Buffer.from(value, 'utf8');
const list = (archive: Uint8Array, limits = LIMITS) => readTarMembers(bufferSource(archive), limits);

/** The reader's view in the shape of `pythonTarListing`'s, data read through each member's window. */
async function listing(archive: Uint8Array) {
  const members = await list(archive);
  return Promise.all(
    members.map(async (member) => ({
      name: member.name,
      type: member.typeFlag,
      size: member.size,
      linkName: member.linkName ?? '',
      data: (await member.data.read(0, member.data.size)).toString('hex'),
    })),
  );
}

/** A tar written by CPython's tarfile in `format` ('USTAR', 'GNU' or 'PAX'), holding files, a directory and links, some with long or non-ASCII names. */
function pythonTar(format: 'USTAR' | 'GNU' | 'PAX', longNames: boolean): Buffer {
  const script = [
    'import io, sys, tarfile',
    'out = io.BytesIO()',
    `long = ${longNames ? 'True' : 'False'}`,
    `tar = tarfile.open(fileobj=out, mode="w", format=tarfile.${format}_FORMAT)`,
    'deep = "/".join(["directory%02d" % i for i in range(12)]) if long else "archive"',
    'def add(name, data=b"", kind=tarfile.REGTYPE, link=""):',
    '    info = tarfile.TarInfo(name)',
    '    info.type, info.linkname, info.size = kind, link, len(data)',
    '    tar.addfile(info, io.BytesIO(data))',
    'add(deep, kind=tarfile.DIRTYPE)',
    'add(deep + "/data.pkl", b"\\x80\\x02}q\\x00." * 200)',
    'add(deep + "/empty")',
    'add(deep + ("/tensör" if long else "/tensor"), bytes(range(256)) * 3)',
    'add(deep + "/link", kind=tarfile.SYMTYPE, link=("x" * 120 + "/../data.pkl") if tar.format != tarfile.USTAR_FORMAT else "data.pkl")',
    'ustar_long = long and tar.format == tarfile.USTAR_FORMAT',
    'add("hard", kind=tarfile.LNKTYPE, link="data.pkl" if ustar_long else deep + "/data.pkl")',
    'tar.close()',
    'sys.stdout.buffer.write(out.getvalue())',
  ].join('\n');
  return execFileSync('python3', ['-c', script]);
}

describe('readTarMembers', () => {
  it.each([
    ['USTAR', false],
    ['USTAR', true],
    ['GNU', true],
    ['PAX', true],
  ] as const)('lists a %s tar (long names: %s) as CPython tarfile does, member data included', async (format, longNames) => {
    const archive = pythonTar(format, longNames);
    expect(looksLikeTar(archive)).toBe(true);
    const python = pythonTarListing(archive);
    expect(python).not.toBe('error');
    expect(await listing(archive)).toEqual(python);
  });

  it('gives each member a window of the archive, at its data offset, without copying it', async () => {
    const data = randomBytes(5000);
    const archive = tarArchive([
      { name: 'sys_info', data: text('{}') },
      { name: 'pickle', data },
    ]);
    const [sysInfo, pickle] = await list(archive);
    expect(sysInfo).toMatchObject({ name: 'sys_info', type: 'file', size: 2, headerOffset: 0, dataOffset: 512 });
    expect(pickle).toMatchObject({ name: 'pickle', type: 'file', size: 5000, headerOffset: 1024, dataOffset: 1536 });
    expect((await pickle.data.read(0, 5000)).equals(data)).toBe(true);
    expect((await pickle.data.read(4990, 10)).equals(archive.subarray(1536 + 4990, 1536 + 5000))).toBe(true);
    await expect(async () => pickle.data.read(4990, 11)).rejects.toThrow(/outside/);
  });

  it('applies pax path, linkpath and size, GNU long names and the ustar prefix as tarfile does', async () => {
    const longName = `${'deep/'.repeat(30)}data.pkl`;
    const archive = tarArchive([
      { name: 'PaxHeader', type: 'x', data: paxData({ path: 'renamed/by/pax.pkl', size: '3' }) },
      { name: 'ignored-name', data: text('abc'), declaredSize: 0 },
      { name: '././@LongLink', type: 'L', data: text(`${longName}\0`) },
      { name: 'short', data: text('long-named') },
      { name: 'PaxHeader', type: 'x', data: paxData({ linkpath: 'renamed/by/pax.pkl' }) },
      { name: 'alias', type: '2', linkName: 'short' },
      { name: 'tail.pkl', prefix: 'the/prefix', data: text('prefixed') },
    ]);
    const ours = await listing(archive);
    expect(ours).toEqual(pythonTarListing(archive));
    expect(ours.map((member) => member.name)).toEqual(['renamed/by/pax.pkl', longName, 'alias', 'the/prefix/tail.pkl']);
    expect(ours[0]).toMatchObject({ size: 3, data: text('abc').toString('hex') });
    expect(ours[2].linkName).toBe('renamed/by/pax.pkl');
  });

  it('reads a global pax path into every later member, as tarfile does', async () => {
    const archive = tarArchive([
      { name: 'GlobalHead', type: 'g', data: paxData({ path: 'everyone' }) },
      { name: 'a', data: text('1') },
      { name: 'b', data: text('2') },
    ]);
    expect(await listing(archive)).toEqual(pythonTarListing(archive));
  });

  it('takes a type flag tarfile does not know for a file with data, and a V7 name ending in / for a directory', async () => {
    const archive = tarArchive([
      { name: 'odd', type: 'Z', data: text('unknown type') },
      { name: 'v7dir/', type: '\0' },
    ]);
    const members = await list(archive);
    expect(members.map((member) => [member.name, member.type, member.size])).toEqual([
      ['odd', 'file', 12],
      ['v7dir', 'directory', 0],
    ]);
    expect(await listing(archive)).toEqual(pythonTarListing(archive));
  });

  it('stops at the first zero block, as tarfile does, whatever follows it', async () => {
    const archive = Buffer.concat([tarArchive([{ name: 'a', data: text('1') }], { endBlocks: 1 }), tarArchive([{ name: 'after-the-end', data: text('2') }])]);
    expect((await list(archive)).map((member) => member.name)).toEqual(['a']);
    expect(pythonTarListing(archive)).toEqual([expect.objectContaining({ name: 'a' })]);
  });

  it.each<[string, TarEntry[], RegExp]>([
    ['an absolute name', [{ name: '/etc/cron.d/x', data: text('x') }], /is an absolute path/],
    ['a .. segment', [{ name: 'a/../../x', data: text('x') }], /'\.\.' segment/],
    ['a backslash .. segment', [{ name: 'a\\..\\..\\x', data: text('x') }], /'\.\.' segment/],
    ['a segment Windows trims to ..', [{ name: '.. /x', data: text('x') }], /only dots and spaces/],
    ['a segment of four dots', [{ name: '..../x', data: text('x') }], /only dots and spaces/],
    ['a drive letter', [{ name: 'C:x', data: text('x') }], /drive letter/],
    [
      'a pax path that climbs out',
      [
        { name: 'PaxHeader', type: 'x', data: paxData({ path: '../evil.pkl' }) },
        { name: 'fine', data: text('x') },
      ],
      /'\.\.' segment/,
    ],
    ['a symlink out of the archive', [{ name: 'a/link', type: '2', linkName: '../../etc/passwd' }], /leaves the directory/],
    ['an absolute symlink', [{ name: 'pickle', type: '2', linkName: '/etc/passwd' }], /points to "\/etc\/passwd", which is an absolute path/],
    ['a symlink through a Windows-trimmed segment', [{ name: 'link', type: '2', linkName: '.. /x' }], /leaves the directory/],
    ['a hardlink out of the archive', [{ name: 'pickle', type: '1', linkName: '../x' }], /leaves the directory/],
    [
      'a bad checksum',
      [
        { name: 'a', data: text('1') },
        { name: 'b', data: text('2'), badChecksum: true },
      ],
      /bad checksum/,
    ],
    ['a size past the end', [{ name: 'a', data: text('1'), declaredSize: 4096 }], /lies past the end/],
    ['a directory with data', [{ name: 'dir', type: '5', data: text('hidden'), declaredSize: 6 }], /directory that declares 6 bytes/],
    ['a GNU sparse member', [{ name: 'sparse', type: 'S', data: text('x') }], /GNU sparse member/],
    [
      'a pax GNU sparse map',
      [
        { name: 'PaxHeader', type: 'x', data: paxData({ 'GNU.sparse.map': '0,1' }) },
        { name: 'x', data: text('1') },
      ],
      /GNU sparse/,
    ],
    [
      'a global pax size',
      [
        { name: 'GlobalHead', type: 'g', data: paxData({ size: '1' }) },
        { name: 'x', data: text('1') },
      ],
      /global pax header .* sets a size/,
    ],
    ['a pax header with nothing after it', [{ name: 'PaxHeader', type: 'x', data: paxData({ path: 'x' }) }], /is empty/],
    [
      'a malformed pax record',
      [
        { name: 'PaxHeader', type: 'x', data: text('99 path=x\n') },
        { name: 'x', data: text('1') },
      ],
      /pax record .* is malformed/,
    ],
    [
      'too many headers in a row',
      [...Array.from({ length: 9 }, () => ({ name: 'PaxHeader', type: 'x', data: paxData({ comment: 'x' }) })), { name: 'x', data: text('1') }],
      /more than 8 pax or long-name headers/,
    ],
  ])('refuses %s', async (_case, entries, message) => {
    await expect(list(tarArchive(entries))).rejects.toThrow(message);
    await expect(list(tarArchive(entries))).rejects.toBeInstanceOf(TarFormatError);
  });

  it("refuses an archive cut inside its last member's padding or inside a header block", async () => {
    const archive = tarArchive([{ name: 'a', data: text('12345') }], { endBlocks: 0 });
    await expect(list(archive.subarray(0, 512 + 100))).rejects.toThrow(/not padded to a whole block/);
    // tarfile refuses it too, and torch.load then reads the file as a bare pickle.
    expect(pythonTarListing(archive.subarray(0, 512 + 100))).toBe('error');
    await expect(list(Buffer.concat([archive, Buffer.alloc(100, 1)]))).rejects.toThrow(/not a whole 512-byte header/);
  });

  it('refuses more members than allowed', async () => {
    const archive = tarArchive(Array.from({ length: 4 }, (_, index) => ({ name: `m${index}`, data: text('x') })));
    await expect(list(archive, { maxEntries: 3 })).rejects.toThrow(/more than the 3 members allowed/);
    expect(await list(archive, { maxEntries: 4 })).toHaveLength(4);
  });

  it('lets links that stay inside through, "..", Windows-trimmed or not', async () => {
    const members = await list(
      tarArchive([
        { name: 'a/b/link', type: '2', linkName: '../../c' },
        { name: 'hard', type: '1', linkName: 'a/../c' },
      ]),
    );
    expect(members.map((member) => [member.name, member.type, member.linkName])).toEqual([
      ['a/b/link', 'symlink', '../../c'],
      ['hard', 'hardlink', 'a/../c'],
    ]);
  });
});

describe('resolveTarLink', () => {
  const byName = (members: TarMember[], name: string) => members.find((member) => member.name === name)!;

  it("finds what a reader of a link gets: a symlink's target anywhere, a hardlink's before it, the last of that name", async () => {
    const members = await list(
      tarArchive([
        { name: 'storages', data: text('first') },
        { name: 'pickle', type: '2', linkName: 'later' },
        { name: 'dir/up', type: '2', linkName: '../storages' },
        { name: 'storages', data: text('second') },
        { name: 'hard', type: '1', linkName: 'storages' },
        { name: 'early-hard', type: '1', linkName: 'later' },
        { name: 'later', data: text('later') },
        { name: 'chain', type: '2', linkName: 'dir/up' },
      ]),
    );
    const target = (name: string) => resolveTarLink(members, byName(members, name));
    expect(target('pickle')).toBe(members[6]);
    expect(target('dir/up')).toBe(members[3]);
    expect(target('hard')).toBe(members[3]);
    expect(target('early-hard')).toBeUndefined();
    expect(target('chain')).toBe(members[3]);
    expect(target('later')).toBe(members[6]);
  });
});

describe('looksLikeTar', () => {
  it('knows a tar by a first header tarfile accepts, whatever its magic', () => {
    expect(looksLikeTar(pythonTar('USTAR', false))).toBe(true);
    const v7 = tarHeader({ name: 'pickle', data: text('x') });
    v7.fill(0, 257, 265);
    v7.fill(0x20, 148, 156);
    v7.write(
      `${v7
        .reduce((total, byte) => total + byte, 0)
        .toString(8)
        .padStart(6, '0')}\0 `,
      148,
      8,
      'latin1',
    );
    expect(looksLikeTar(Buffer.concat([v7, Buffer.alloc(1024)]))).toBe(true);
    expect(looksLikeTar(Buffer.alloc(1024))).toBe(false);
    expect(looksLikeTar(randomBytes(1024))).toBe(false);
    expect(looksLikeTar(zipArchive([{ name: 'a', data: text('x') }]))).toBe(false);
    expect(looksLikeTar(tarArchive([{ name: 'a', data: text('x'), badChecksum: true }]))).toBe(false);
    expect(looksLikeTar(tarArchive([{ name: 'a' }]).subarray(0, 511))).toBe(false);
  });

  it('accepts the numeric fields CPython tarfile accepts, and only those', () => {
    const sizeFields = ['0000000017\0', ' 17 \0', '+17\0', '0o17\0', '1_7\0', '-1\0', '18\0', '1__7\0', '\t17\x1c\0', '', '17\x8017\0', '0x17\0'];
    const base256 = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    const headers = [...sizeFields.map((field) => withSize(Buffer.from(field, 'latin1'))), withSize(base256)];
    const script = [
      'import io, sys, tarfile',
      'data = sys.stdin.buffer.read()',
      'verdicts = ""',
      'for at in range(0, len(data), 1536):',
      '    try:',
      '        tarfile.open(fileobj=io.BytesIO(data[at:at + 1536]), mode="r:")',
      '        verdicts += "1"',
      '    except tarfile.ReadError:',
      '        verdicts += "0"',
      'print(verdicts)',
    ].join('\n');
    const python = execFileSync('python3', ['-c', script], { input: Buffer.concat(headers.map((header) => Buffer.concat([header, Buffer.alloc(1024)]))), encoding: 'utf8' }).trim();
    expect(headers.map((header) => (looksLikeTar(header) ? '1' : '0')).join('')).toBe(python);
    expect(python).toContain('0');
    expect(python).toContain('1');
  });
});

/** A file header whose size field holds exactly `field` (NUL-padded to 12 bytes), checksum recomputed. */
function withSize(field: Buffer): Buffer {
  const header = tarHeader({ name: 'x' });
  header.fill(0, 124, 136);
  field.copy(header, 124, 0, 12);
  header.fill(0x20, 148, 156);
  header.write(
    `${header
      .reduce((total, byte) => total + byte, 0)
      .toString(8)
      .padStart(6, '0')}\0 `,
    148,
    8,
    'latin1',
  );
  return header;
}
