import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { pytorchCheckpointZip, writeZipFile, zipArchive } from '../../../test/fixtures/zip-archives';
import { bufferSource, fileSource, type ByteSource } from './byte-source';
import { unsafeArchivePath } from './archive-paths';
import { looksLikeZip, openZipEntry, readZipDirectory, ZipBombError, ZipFormatError } from './zip-reader';

const LIMITS = { maxEntries: 100, maxBytes: 1 << 20 };
const text = (value: string) => Buffer.from(value, 'utf8');
const readAll = async (source: ByteSource) => source.read(0, source.size);
const list = (archive: Uint8Array) => readZipDirectory(bufferSource(archive), LIMITS);

async function membersOf(source: ByteSource, maxBytes = LIMITS.maxBytes): Promise<Record<string, Buffer>> {
  const entries = await readZipDirectory(source, LIMITS);
  const members: Record<string, Buffer> = {};
  for (const entry of entries) members[entry.name] = await readAll(await openZipEntry(source, entry, { maxBytes }));
  return members;
}

/** Offset of the first central directory header, read from the end record of an archive without comment or zip64 records. */
const firstCentralHeader = (archive: Buffer) => archive.readUInt32LE(archive.length - 6);

describe('readZipDirectory and openZipEntry', () => {
  const tensor = randomBytes(3000);
  const pickle = Buffer.concat([text('\x80\x02ctorch._utils\n_rebuild_tensor_v2\n'), Buffer.alloc(5000, 0x2e)]);

  it('lists a stored and a deflated member from the central directory and reads both back byte for byte', async () => {
    const archive = zipArchive([
      { name: 'model/data.pkl', data: pickle, method: 'deflate' },
      { name: 'model/data/0', data: tensor },
    ]);
    const entries = await list(archive);
    expect(entries).toEqual([
      { name: 'model/data.pkl', method: 8, compressedSize: expect.any(Number), uncompressedSize: pickle.length, localHeaderOffset: 0, encrypted: false, crc32: crc32(pickle) },
      { name: 'model/data/0', method: 0, compressedSize: 3000, uncompressedSize: 3000, localHeaderOffset: expect.any(Number), encrypted: false, crc32: crc32(tensor) },
    ]);
    expect(entries[0].compressedSize).toBeLessThan(pickle.length / 10);
    expect(entries[1].localHeaderOffset).toBe(30 + 'model/data.pkl'.length + entries[0].compressedSize);
    expect(await membersOf(bufferSource(archive))).toEqual({ 'model/data.pkl': pickle, 'model/data/0': tensor });
  });

  it('reads a PyTorch-style checkpoint, whose local extra fields pad data to 64 bytes but whose central ones do not', async () => {
    const storages = [randomBytes(100), randomBytes(257)];
    const members = await membersOf(bufferSource(pytorchCheckpointZip(pickle, storages)));
    expect(members).toEqual({
      'archive/data.pkl': pickle,
      'archive/byteorder': text('little'),
      'archive/data/0': storages[0],
      'archive/data/1': storages[1],
      'archive/version': text('3\n'),
    });
  });

  it('lists and reads a zip64 archive streamed to disk', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'zip-reader-'));
    try {
      const path = join(directory, 'checkpoint.pt');
      const fill = (chunk: Buffer, offset: number) => {
        for (let index = 0; index < chunk.length; index++) chunk[index] = (offset + index) % 251;
      };
      await writeZipFile(
        path,
        [
          { name: 'archive/data.pkl', data: pickle },
          { name: 'archive/data/0', size: 5000, fill },
        ],
        { zip64: true, alignData: 64 },
      );
      const bytes = await readFile(path);
      expect(bytes.includes(Buffer.from('PK\x06\x06', 'latin1'))).toBe(true);
      expect(bytes.readUInt32LE(bytes.length - 6)).toBe(0xffffffff);

      const file = await open(path);
      try {
        const source = fileSource(file, bytes.length);
        const entries = await readZipDirectory(source, LIMITS);
        expect(entries.map(({ name, compressedSize, uncompressedSize }) => ({ name, compressedSize, uncompressedSize }))).toEqual([
          { name: 'archive/data.pkl', compressedSize: pickle.length, uncompressedSize: pickle.length },
          { name: 'archive/data/0', compressedSize: 5000, uncompressedSize: 5000 },
        ]);
        expect(entries[1].localHeaderOffset).toBeGreaterThan(pickle.length);
        const storage = await readAll(await openZipEntry(source, entries[1], LIMITS));
        expect(storage).toEqual(Buffer.from(Array.from({ length: 5000 }, (_, index) => index % 251)));
        expect(crc32(storage)).toBe(entries[1].crc32);
        expect(await readAll(await openZipEntry(source, entries[0], LIMITS))).toEqual(pickle);
      } finally {
        await file.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('reads only the directory and the local headers to list it, never the members', async () => {
    const archive = zipArchive([
      { name: 'big', data: Buffer.alloc(8 << 20, 7) },
      { name: 'small', data: text('x') },
    ]);
    const source = bufferSource(archive);
    let bytesRead = 0;
    const counting: ByteSource = { size: source.size, read: (offset, length) => ((bytesRead += length), source.read(offset, length)) };
    expect((await readZipDirectory(counting, LIMITS)).map((entry) => entry.name)).toEqual(['big', 'small']);
    expect(bytesRead).toBeLessThan(128 * 1024);
  });

  it('finds the end record behind a trailing comment', async () => {
    const comment = 'written by a test; '.repeat(1000);
    const archive = zipArchive([{ name: 'a.txt', data: text('alpha') }], { comment });
    expect(archive.length).toBeGreaterThan(comment.length);
    expect(await membersOf(bufferSource(archive))).toEqual({ 'a.txt': text('alpha') });
  });

  it('lists an empty archive', async () => {
    expect(await list(zipArchive([]))).toEqual([]);
  });

  it('decodes names as UTF-8 when flagged, as CP437 otherwise', async () => {
    const archive = zipArchive([
      { name: 'données/é.npy', data: text('1') },
      { name: Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x6e, 0x70, 0x79]), data: text('2') },
    ]);
    expect((await list(archive)).map((entry) => entry.name)).toEqual(['données/é.npy', 'café.npy']);
  });

  it('refuses an archive cut short at either end', async () => {
    const archive = zipArchive([{ name: 'a.txt', data: randomBytes(500) }]);
    await expect(list(archive.subarray(0, archive.length - 10))).rejects.toThrow(/no end of central directory record/);
    await expect(list(archive.subarray(100))).rejects.toThrow(ZipFormatError);
    await expect(list(Buffer.alloc(0))).rejects.toThrow(ZipFormatError);
  });

  it('refuses more entries than allowed before reading them', async () => {
    const archive = zipArchive(Array.from({ length: 5 }, (_, index) => ({ name: `${index}.npy`, data: text(`${index}`) })));
    await expect(readZipDirectory(bufferSource(archive), { maxEntries: 4 })).rejects.toThrow('the archive declares 5 entries, more than the 4 allowed');
    await expect(readZipDirectory(bufferSource(archive), { maxEntries: 5 })).resolves.toHaveLength(5);
  });

  it('refuses a central directory holding more entries than its end record declares', async () => {
    const archive = zipArchive([
      { name: 'shown', data: text('1') },
      { name: 'hidden', data: text('2') },
    ]);
    const end = archive.length - 22;
    archive.writeUInt16LE(1, end + 8);
    archive.writeUInt16LE(1, end + 10);
    await expect(list(archive)).rejects.toThrow(/more entries than the 1 its end record declares/);
  });

  it('refuses layouts CPython (numpy) and miniz (PyTorch) would read differently: a gap before the end record, a zip64 locator pointing elsewhere', async () => {
    // A second central directory in the gap: CPython takes the gap for prepended data and reads that one, miniz the first.
    const shown = zipArchive([{ name: 'good.npy', data: text('1') }]);
    const end = shown.length - 22;
    const gapped = Buffer.concat([shown.subarray(0, end), Buffer.alloc(46 + 8, 0x41), shown.subarray(end)]);
    await expect(list(gapped)).rejects.toThrow(/does not end where its end record starts/);

    const zip64 = zipArchive([{ name: 'a', data: text('1') }], { zip64: true });
    const locator = zip64.length - 22 - 20;
    expect(zip64.readUInt32LE(locator)).toBe(0x07064b50);
    await expect(list(zip64)).resolves.toHaveLength(1);
    zip64.writeBigUInt64LE(0n, locator + 8);
    await expect(list(zip64)).rejects.toThrow(/points to 0, not to the record just before it/);
  });

  it('refuses an entry whose data would lie past the end of the file', async () => {
    const archive = zipArchive([{ name: 'a.bin', data: randomBytes(100) }]);
    archive.writeUInt32LE(1_000_000, firstCentralHeader(archive) + 20);
    await expect(list(archive)).rejects.toThrow(/a\.bin .* has data past the end of the \d+-byte file/);
  });

  it('refuses a deflated member that inflates past the size it declares', async () => {
    const data = Buffer.alloc(100_000, 'a');
    const archive = zipArchive([{ name: 'data.pkl', data, method: 'deflate', declaredSize: 1000 }]);
    const [entry] = await list(archive);
    expect(entry.uncompressedSize).toBe(1000);
    await expect(openZipEntry(bufferSource(archive), entry, LIMITS)).rejects.toThrow(ZipBombError);
    await expect(openZipEntry(bufferSource(archive), entry, LIMITS)).rejects.toThrow('data.pkl (local header at offset 0) inflates past the 1000 bytes it declares');
  });

  it('stops inflating a member at maxBytes even when it declares more', async () => {
    const archive = zipArchive([{ name: 'bomb', data: Buffer.alloc(50 << 20), method: 'deflate' }]);
    const [entry] = await list(archive);
    expect(entry.uncompressedSize).toBe(50 << 20);
    await expect(openZipEntry(bufferSource(archive), entry, { maxBytes: 1 << 20 })).rejects.toThrow(
      new ZipBombError('bomb (local header at offset 0) inflates past the 1048576-byte limit'),
    );
    expect((await openZipEntry(bufferSource(archive), entry, { maxBytes: 50 << 20 })).size).toBe(50 << 20);
  });

  it('refuses a stored member whose two sizes disagree', async () => {
    const archive = zipArchive([{ name: 'a.bin', data: randomBytes(100), declaredSize: 10 }]);
    const [entry] = await list(archive);
    await expect(openZipEntry(bufferSource(archive), entry, LIMITS)).rejects.toThrow('a.bin is stored, yet declares 100 bytes stored and 10 unpacked');
  });

  it('refuses encrypted members, unknown methods and broken deflate streams', async () => {
    const archive = zipArchive([{ name: 'a.bin', data: Buffer.alloc(64, 0xff) }]);
    const header = firstCentralHeader(archive);
    const open = async (patch: (copy: Buffer) => void) => {
      const copy = Buffer.from(archive);
      patch(copy);
      const [entry] = await list(copy);
      return openZipEntry(bufferSource(copy), entry, LIMITS);
    };
    await expect(open((copy) => copy.writeUInt16LE(1, header + 8))).rejects.toThrow('a.bin is encrypted');
    await expect(open((copy) => copy.writeUInt16LE(12, header + 10))).rejects.toThrow('a.bin uses compression method 12 (bzip2); only stored (0) and deflate (8) are read');
    await expect(open((copy) => copy.writeUInt16LE(8, header + 10))).rejects.toThrow(/a\.bin .* has a broken deflate stream: invalid block type/);
  });

  it('refuses a member whose local header is missing', async () => {
    const archive = zipArchive([{ name: 'a.bin', data: randomBytes(64) }]);
    archive.writeUInt32LE(0, 0);
    await expect(list(archive)).rejects.toThrow('no local header for a.bin at offset 0');
  });

  it('writes archives that CPython zipfile reads, CRCs checked', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'zip-reader-'));
    try {
      const inMemory = join(directory, 'in-memory.zip');
      const streamed = join(directory, 'streamed.zip');
      const data = { 'a/stored.bin': randomBytes(1000), 'a/deflated.pkl': pickle, 'a/é.npy': text('unicode name') };
      await writeFile(
        inMemory,
        zipArchive(
          [
            { name: 'a/stored.bin', data: data['a/stored.bin'] },
            { name: 'a/deflated.pkl', data: data['a/deflated.pkl'], method: 'deflate' },
            { name: 'a/é.npy', data: data['a/é.npy'] },
          ],
          { comment: 'comment' },
        ),
      );
      await writeZipFile(
        streamed,
        Object.entries(data).map(([name, bytes]) => ({ name, data: bytes })),
        { zip64: true, alignData: 64 },
      );
      const script = [
        'import hashlib, json, sys, zipfile',
        'for path in sys.argv[1:]:',
        '    with zipfile.ZipFile(path) as archive:',
        '        assert archive.testzip() is None',
        '        print(json.dumps({info.filename: hashlib.sha256(archive.read(info)).hexdigest() for info in archive.infolist()}))',
      ].join('\n');
      const lines = execFileSync('python3', ['-c', script, inMemory, streamed], { encoding: 'utf8' }).trim().split('\n');
      const digests = Object.fromEntries(Object.entries(data).map(([name, bytes]) => [name, createHash('sha256').update(bytes).digest('hex')]));
      expect(lines.map((line) => JSON.parse(line))).toEqual([digests, digests]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('looksLikeZip', () => {
  it('knows a zip by its first local header or an empty archive by its end record', () => {
    expect(looksLikeZip(zipArchive([{ name: 'a', data: text('a') }]).subarray(0, 4))).toBe(true);
    expect(looksLikeZip(zipArchive([]))).toBe(true);
    expect(looksLikeZip(text('\x80\x02ctorch'))).toBe(false);
    expect(looksLikeZip(text('PK'))).toBe(false);
  });
});

describe('unsafeArchivePath', () => {
  it.each([
    { name: 'archive/data.pkl', unsafe: null },
    { name: 'a/..b/c', unsafe: null },
    { name: 'a/b../c', unsafe: null },
    { name: './archive/data/0', unsafe: null },
    { name: '../evil', unsafe: "has a '..' segment" },
    { name: 'a/../../b', unsafe: "has a '..' segment" },
    { name: 'a\\..\\..\\b', unsafe: "has a '..' segment" },
    { name: 'a/..', unsafe: "has a '..' segment" },
    { name: '/etc/passwd', unsafe: 'is an absolute path' },
    { name: '\\\\server\\share', unsafe: 'is an absolute path' },
    { name: 'C:\\Windows\\system32', unsafe: 'starts with a drive letter' },
    { name: 'c:relative', unsafe: 'starts with a drive letter' },
    { name: 'archive/data.pkl\0.txt', unsafe: 'contains a NUL byte' },
    { name: '.. /evil.py', unsafe: "has a segment '.. ' of only dots and spaces, which Windows reads as '..' or '.'" },
    { name: 'a/..../b', unsafe: "has a segment '....' of only dots and spaces, which Windows reads as '..' or '.'" },
  ])('$name', ({ name, unsafe }) => {
    expect(unsafeArchivePath(name)).toBe(unsafe);
  });
});
