import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableStream } from 'node:stream/web';
import { collectFiles, encodeFilePath, prepareDestination, safeDestination, sha256OfFile, writeVerified } from './local-files';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-files-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('collectFiles', () => {
  let tree: string;
  beforeAll(async () => {
    tree = join(dir, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'a-b.txt'), 'x');
    await writeFile(join(tree, 'a', 'b', 'c.bin'), 'yy');
    await writeFile(join(tree, 'a.txt'), 'z');
    await symlink(join(tree, 'a.txt'), join(tree, 'link.txt'));
    await symlink('/etc', join(tree, 'a', 'etc'));
  });

  it('walks a directory in manifest order, skipping symlinks to files and directories', async () => {
    const { files, skippedSymlinks } = await collectFiles(tree);
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ['a/b/c.bin', 2],
      ['a-b.txt', 1],
      ['a.txt', 1],
    ]);
    expect(skippedSymlinks.sort()).toEqual(['a/etc', 'link.txt']);
  });

  it('takes a single file by its name', async () => {
    expect((await collectFiles(join(tree, 'a.txt'))).files.map((f) => f.path)).toEqual(['a.txt']);
  });

  it('follows the target itself when it is a symlink the user named', async () => {
    await symlink(tree, join(dir, 'latest'));
    expect((await collectFiles(join(dir, 'latest'))).files.map((f) => f.path)).toEqual(['a/b/c.bin', 'a-b.txt', 'a.txt']);
  });
});

describe('sha256OfFile', () => {
  it('hashes a file larger than one read buffer', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    await writeFile(join(dir, 'big.bin'), bytes);
    expect(await sha256OfFile(join(dir, 'big.bin'))).toBe(sha256(bytes));
  });
});

describe('download destinations', () => {
  it('never resolves a registry path outside the download directory', () => {
    expect(safeDestination('/tmp/out', 'a/b.bin')).toBe('/tmp/out/a/b.bin');
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b', '']) expect(() => safeDestination('/tmp/out', bad)).toThrow(/outside/);
  });

  it('creates subdirectories, but refuses one that is a symlink leading out', async () => {
    const out = join(dir, 'out');
    expect(await prepareDestination(out, 'nested/deep/model.onnx')).toBe(join(out, 'nested', 'deep', 'model.onnx'));
    await symlink(tmpdir(), join(out, 'escape'));
    await expect(prepareDestination(out, 'escape/model.onnx')).rejects.toThrow(/leads outside/);
  });

  it('encodes each path segment on its own', () => {
    expect(encodeFilePath('dir name/a#b?.bin')).toBe('dir%20name/a%23b%3F.bin');
  });
});

describe('writeVerified', () => {
  const bytes = randomBytes(256 * 1024);
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // A real HTTP server: the whole file, or its headers and half its bytes before the connection is cut, as the registry does when stored bytes fail their hash.
    server = createServer((request, response) => {
      response.writeHead(200, { 'content-length': String(bytes.length) });
      if (request.url === '/whole') response.end(bytes);
      else response.write(bytes.subarray(0, bytes.length / 2), () => setTimeout(() => response.destroy(), 20));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchBody = async (path: string) => (await fetch(`${base}${path}`)).body as ReadableStream<Uint8Array>;

  it('writes bytes whose SHA-256 matches', async () => {
    const target = join(dir, 'ok', 'model.onnx');
    await mkdir(join(dir, 'ok'));
    await writeVerified(await fetchBody('/whole'), target, sha256(bytes));
    expect(Buffer.compare(await readFile(target), bytes)).toBe(0);
    expect(await readdir(join(dir, 'ok'))).toEqual(['model.onnx']);
  });

  it('leaves nothing behind when the bytes do not match the manifest', async () => {
    await mkdir(join(dir, 'mismatch'));
    await expect(writeVerified(await fetchBody('/whole'), join(dir, 'mismatch', 'model.onnx'), sha256(Buffer.from('other')))).rejects.toThrow(/does not match the manifest/);
    expect(await readdir(join(dir, 'mismatch'))).toEqual([]);
  });

  it('leaves nothing behind when the connection is cut mid-stream', async () => {
    await mkdir(join(dir, 'cut'));
    await expect(writeVerified(await fetchBody('/cut'), join(dir, 'cut', 'model.onnx'), sha256(bytes))).rejects.toThrow(/cut off/);
    expect(await readdir(join(dir, 'cut'))).toEqual([]);
  });
});
