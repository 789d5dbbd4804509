import { bufferSource } from './byte-source';
import { findSuperblock, Hdf5FormatError, readRootAttributes } from './hdf5-reader';
import { hdf5File } from '../../../test/fixtures/keras-files';

const values = async (bytes: Buffer) => Promise.all((await readRootAttributes(bufferSource(bytes))).map(async (attribute) => [attribute.name, await attribute.read(1 << 20)]));

describe('readRootAttributes', () => {
  it('reads variable-length and fixed-length string attributes in header order', async () => {
    const file = hdf5File([
      { name: 'backend', value: 'tensorflow' },
      { name: 'model_config', value: '{"ü": 1}', storage: 'fixed' },
      { name: 'empty', value: '' },
    ]);
    expect(await values(file)).toEqual([
      ['backend', { kind: 'string', bytes: Buffer.from('tensorflow') }],
      ['model_config', { kind: 'string', bytes: Buffer.from('{"ü": 1}') }],
      ['empty', { kind: 'string', bytes: Buffer.alloc(0) }],
    ]);
  });

  it.each([0, 512, 4096])('finds the superblock after a user block of %i bytes', async (userBlock) => {
    const file = hdf5File([{ name: 'a', value: 'b' }], { userBlock });
    expect(await findSuperblock(bufferSource(file))).toBe(userBlock);
    expect(await values(file)).toEqual([['a', { kind: 'string', bytes: Buffer.from('b') }]]);
  });

  it('refuses a value over the caller limit, and a heap reference past the file', async () => {
    const file = hdf5File([{ name: 'model_config', value: 'x'.repeat(5000) }]);
    const [attribute] = await readRootAttributes(bufferSource(file));
    await expect(attribute.read(4999)).rejects.toThrow(/5000 bytes, over the 4999/);
    await expect(readRootAttributes(bufferSource(file.subarray(0, 150)))).rejects.toThrow(Hdf5FormatError);
    const cut = file.subarray(0, file.length - 4096);
    const [short] = await readRootAttributes(bufferSource(cut));
    await expect(short.read(1 << 20)).rejects.toThrow(/past the end of the file/);
  });

  it('refuses an object header that is not one, and a superblock version HDF5 never wrote', async () => {
    const file = hdf5File([{ name: 'a', value: 'b' }]);
    const noHeader = Buffer.from(file);
    noHeader[96] = 7;
    await expect(readRootAttributes(bufferSource(noHeader))).rejects.toThrow(/no object header at address 96/);
    const badVersion = Buffer.from(file);
    badVersion[8] = 9;
    await expect(readRootAttributes(bufferSource(badVersion))).rejects.toThrow(/superblock version 9/);
  });
});
