import { unsafeArchivePath } from './archive-paths';

describe('unsafeArchivePath', () => {
  it.each([['model/data.pkl'], ['./model/data.pkl'], ['archive/data/0'], ['a..b/c'], ['.hidden/x'], ['x./y'], ['name. /y'], ['v1.0/weights.bin'], ['']])(
    'lets %j through',
    (name) => {
      expect(unsafeArchivePath(name)).toBeNull();
    },
  );

  it.each([
    ['evil\0.pkl', /NUL/],
    ['/etc/passwd', /absolute/],
    ['\\\\server\\share\\x', /absolute/],
    ['C:\\Windows\\x', /drive letter/],
    ['c:x', /drive letter/],
    ['../x', /'\.\.' segment/],
    ['a/../../x', /'\.\.' segment/],
    ['a\\..\\x', /'\.\.' segment/],
    ['.. /x', /only dots and spaces/],
    ['..../x', /only dots and spaces/],
    ['a/. ./x', /only dots and spaces/],
    ['a/...', /only dots and spaces/],
    ['a\\.. \\x', /only dots and spaces/],
  ])('refuses %j', (name, reason) => {
    expect(unsafeArchivePath(name)).toMatch(reason);
  });
});
