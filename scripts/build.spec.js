'use strict';
const { afterEach, beforeEach, describe, expect, it } = require('@jest/globals');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { acquireLock, buildIfStale, isBuildCurrent, sourceFingerprint } = require('./build');

const BUILD_SCRIPT = path.join(__dirname, 'build.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (condition) => {
  while (!condition()) await sleep(20);
};

/** A project as the build sees one: tsconfig.build.json, its sources, a spec it does not compile, a lock file. */
describe('scripts/build.js on a project in a temporary directory', () => {
  let root;
  let outDir;
  let lockFile;
  const file = (relative) => path.join(root, relative);
  const write = (relative, content) => {
    fs.mkdirSync(path.dirname(file(relative)), { recursive: true });
    fs.writeFileSync(file(relative), content);
  };
  /** A later mtime, as an editor's save leaves it; the content stays. */
  const touch = (relative) => {
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file(relative), later, later);
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-build-'));
    outDir = path.join(root, 'dist');
    lockFile = path.join(outDir, '.build.lock');
    write('tsconfig.build.json', JSON.stringify({ include: ['src', 'fixtures/model.ts'], exclude: ['dist', '**/*.spec.ts'] }));
    write('package-lock.json', '{}');
    write('src/main.ts', 'export {};\n');
    write('src/lib/parse.ts', 'export const parse = 1;\n');
    write('src/lib/parse.spec.ts', 'test;\n');
    write('fixtures/model.ts', 'export {};\n');
    write('fixtures/other.ts', 'export {};\n');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  describe('the fingerprint of the sources', () => {
    it.each([
      ['a compiled source is saved', () => touch('src/lib/parse.ts')],
      ['a compiled source grows', () => fs.appendFileSync(file('src/main.ts'), '// more\n')],
      ['a source is added', () => write('src/lib/format.ts', 'export {};\n')],
      ['a source is deleted', () => fs.rmSync(file('src/lib/parse.ts'))],
      ['a file named in include is saved', () => touch('fixtures/model.ts')],
      ['the lock file of dependencies changes', () => touch('package-lock.json')],
      ['tsconfig.build.json changes', () => touch('tsconfig.build.json')],
    ])('changes when %s', (_, change) => {
      const before = sourceFingerprint(root);
      change();
      expect(sourceFingerprint(root)).not.toBe(before);
    });

    it.each([
      ['a spec is saved', () => touch('src/lib/parse.spec.ts')],
      ['a spec is added', () => write('src/main.spec.ts', 'test;\n')],
      ['a file outside include is saved', () => touch('fixtures/other.ts')],
      ['the build output changes', () => write('dist/main.js', '')],
    ])('stays when %s', (_, change) => {
      const before = sourceFingerprint(root);
      change();
      expect(sourceFingerprint(root)).toBe(before);
    });
  });

  it('builds once, again only after a source changes, and again after a failed build', async () => {
    let builds = 0;
    const build = async () => {
      builds++;
    };
    expect(isBuildCurrent(root, outDir)).toBe(false);
    expect(await buildIfStale({ root, outDir, build })).toBe(true);
    expect(await buildIfStale({ root, outDir, build })).toBe(false);
    expect(isBuildCurrent(root, outDir)).toBe(true);

    touch('src/main.ts');
    expect(isBuildCurrent(root, outDir)).toBe(false);
    await expect(buildIfStale({ root, outDir, build: () => Promise.reject(new Error('tsc found errors')) })).rejects.toThrow('tsc found errors');
    expect(isBuildCurrent(root, outDir)).toBe(false);
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(await buildIfStale({ root, outDir, build })).toBe(true);
    expect(builds).toBe(2);
  });

  it('rebuilds when a source changes while it builds', async () => {
    await buildIfStale({ root, outDir, build: async () => touch('src/main.ts') });
    expect(isBuildCurrent(root, outDir)).toBe(false);
  });

  it('makes a second build wait for the one under way, which leaves it nothing to do', async () => {
    const events = [];
    let finishFirst;
    const first = buildIfStale({
      root,
      outDir,
      build: () => {
        events.push('first builds');
        return new Promise((resolve) => (finishFirst = resolve));
      },
    });
    await until(() => finishFirst);
    const second = buildIfStale({ root, outDir, build: async () => events.push('second builds'), onWait: () => events.push('second waits') });
    await until(() => events.includes('second waits'));
    events.push('first finishes');
    finishFirst();
    expect(await first).toBe(true);
    expect(await second).toBe(false);
    expect(events).toEqual(['first builds', 'second waits', 'first finishes']);
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('lets two processes starting at once build one at a time, and only one of them', async () => {
    const log = file('builds.log');
    const builder = `
      const fs = require('node:fs');
      const { buildIfStale } = require(${JSON.stringify(BUILD_SCRIPT)});
      buildIfStale({
        root: ${JSON.stringify(root)},
        outDir: ${JSON.stringify(outDir)},
        build: async () => {
          fs.appendFileSync(${JSON.stringify(log)}, 'begin ' + process.pid + '\\n');
          await new Promise((resolve) => setTimeout(resolve, 500));
          fs.appendFileSync(${JSON.stringify(log)}, 'end ' + process.pid + '\\n');
        },
      }).then((built) => process.stdout.write(String(built)));`;
    const results = await Promise.all([1, 2].map(() => promisify(execFile)(process.execPath, ['-e', builder])));
    expect(results.map(({ stdout }) => stdout).sort()).toEqual(['false', 'true']);
    const [begin, end, ...more] = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(more).toEqual([]);
    expect(end).toBe(begin.replace('begin', 'end'));
  });

  it('takes over the lock of a process that died holding it', async () => {
    fs.mkdirSync(outDir);
    const holder = `require(${JSON.stringify(BUILD_SCRIPT)}).acquireLock(${JSON.stringify(lockFile)}).then(() => process.kill(process.pid, 'SIGKILL'));`;
    await expect(promisify(execFile)(process.execPath, ['-e', holder])).rejects.toMatchObject({ signal: 'SIGKILL' });
    expect(fs.existsSync(lockFile)).toBe(true);
    expect(await buildIfStale({ root, outDir, build: async () => {} })).toBe(true);
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('waits for a lock held on another host until its heartbeat stops, then takes it over', async () => {
    fs.mkdirSync(outDir);
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid + 1, host: 'another-host', token: 'theirs' }));
    let waitedFor;
    const acquired = acquireLock(lockFile, (holder) => (waitedFor = holder));
    await until(() => waitedFor);
    expect(waitedFor).toMatchObject({ host: 'another-host' });
    const silentSince = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, silentSince, silentSince);
    const release = await acquired;
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, host: os.hostname() });
    release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });
});
