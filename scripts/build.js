'use strict';
/**
 * Builds dist/ when its sources changed since the last build, one process at a time. `npm ci` (prepare),
 * `npm run build` and `npm start` (prestart) all come here, so a start with nothing changed costs one stat per
 * source file, and replicas starting together on one checkout build it once while the others wait for that build.
 * Plain JavaScript: it runs before anything is compiled.
 */
const { spawn } = require('node:child_process');
const { createHash, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Written after a successful build: the fingerprint of the sources as they were when it began. */
const FINGERPRINT_FILE = '.build-fingerprint';
const LOCK_FILE = '.build.lock';
/** Besides what tsconfig.build.json compiles, what changes how it compiles. */
const BUILD_SETTINGS = ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];
const POLL_MS = 200;
const HEARTBEAT_MS = 2000;
/** A lock whose holder stopped touching it for this long is abandoned, even when its pid cannot be checked (another host). */
const ABANDONED_AFTER_MS = 30_000;

/** Every file tsconfig.build.json compiles, plus the build's settings: path, size and mtime, hashed. Nothing is read but metadata. */
function sourceFingerprint(root) {
  const { include, exclude = [] } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  const excludedSuffixes = exclude.filter((pattern) => pattern.startsWith('**/*')).map((pattern) => pattern.slice('**/*'.length));
  const excludedNames = new Set(exclude.filter((pattern) => !pattern.includes('*')));
  const entries = [];
  const visit = (relative) => {
    const stats = fs.statSync(path.join(root, relative), { throwIfNoEntry: false });
    if (!stats) return;
    if (stats.isDirectory()) {
      for (const name of fs.readdirSync(path.join(root, relative))) if (!excludedNames.has(name)) visit(path.join(relative, name));
    } else if (!excludedSuffixes.some((suffix) => relative.endsWith(suffix))) {
      entries.push(`${relative}\0${stats.size}\0${stats.mtimeMs}`);
    }
  };
  for (const relative of [...include, ...BUILD_SETTINGS]) visit(relative);
  return createHash('sha256').update(entries.sort().join('\n')).digest('hex');
}

/** Whether `outDir` holds a build of the sources exactly as they are now. */
function isBuildCurrent(root, outDir) {
  try {
    return fs.readFileSync(path.join(outDir, FINGERPRINT_FILE), 'utf8').trim() === sourceFingerprint(root);
  } catch (error) {
    if (error.code === 'ENOENT') return false;
    throw error;
  }
}

/** Whether process `pid` exists on this host (EPERM: it does, as another user's). */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function readLock(lockFile) {
  try {
    const content = fs.readFileSync(lockFile, 'utf8');
    const { mtimeMs } = fs.statSync(lockFile);
    let holder;
    try {
      holder = JSON.parse(content);
    } catch {
      holder = undefined;
    }
    return { content, holder, mtimeMs };
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

function isAbandoned({ holder, mtimeMs }) {
  if (holder && holder.host === os.hostname() && holder.pid !== process.pid && !isAlive(holder.pid)) return true;
  return Date.now() - mtimeMs > ABANDONED_AFTER_MS;
}

/**
 * Removes the abandoned lock whose content was `seen`. It is moved aside first, atomically; if what was moved is not
 * the abandoned lock (another waiter removed that one and locked in between), it is linked back where it was.
 */
function removeAbandonedLock(lockFile, seen) {
  const aside = `${lockFile}.${process.pid}.${randomUUID()}`;
  try {
    fs.renameSync(lockFile, aside);
  } catch (error) {
    if (error.code === 'ENOENT') return;
    throw error;
  }
  try {
    if (fs.readFileSync(aside, 'utf8') !== seen) fs.linkSync(aside, lockFile);
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes `lockFile`, waiting while a live process holds it; returns the function that releases it. The lock appears
 * with its content in one step (a hard link of a written draft), so a reader never sees it empty. A crashed holder's
 * lock is taken over at once on the same host, after ABANDONED_AFTER_MS without a heartbeat otherwise.
 */
async function acquireLock(lockFile, onWait = () => {}) {
  const content = JSON.stringify({ pid: process.pid, host: os.hostname(), token: randomUUID() });
  const draft = `${lockFile}.${process.pid}.${randomUUID()}.draft`;
  fs.writeFileSync(draft, content);
  try {
    for (let told = false; ;) {
      try {
        fs.linkSync(draft, lockFile);
        break;
      } catch (error) {
        if (error.code !== 'EEXIST') throw error;
      }
      const held = readLock(lockFile);
      if (!held) continue;
      if (isAbandoned(held)) {
        removeAbandonedLock(lockFile, held.content);
        continue;
      }
      if (!told) onWait(held.holder);
      told = true;
      await sleep(POLL_MS);
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  const heartbeat = setInterval(() => fs.utimes(lockFile, new Date(), new Date(), () => {}), HEARTBEAT_MS);
  heartbeat.unref();
  return () => {
    clearInterval(heartbeat);
    if (readLock(lockFile)?.content === content) fs.rmSync(lockFile, { force: true });
  };
}

/**
 * Runs `build` unless `outDir` already holds a build of the current sources, under `outDir`'s lock; a process that
 * waited for another's build re-checks and usually has nothing left to do. Returns whether it built.
 */
async function buildIfStale({ root, outDir, build, onWait }) {
  if (isBuildCurrent(root, outDir)) return false;
  fs.mkdirSync(outDir, { recursive: true });
  const release = await acquireLock(path.join(outDir, LOCK_FILE), onWait);
  try {
    if (isBuildCurrent(root, outDir)) return false;
    const fingerprint = sourceFingerprint(root);
    await build();
    const draft = path.join(outDir, `${FINGERPRINT_FILE}.${process.pid}`);
    fs.writeFileSync(draft, `${fingerprint}\n`);
    fs.renameSync(draft, path.join(outDir, FINGERPRINT_FILE));
    return true;
  } finally {
    release();
  }
}

/** Runs a node program of the build to the end; `name` says which in the error when it fails. */
function runNode(root, name, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${name} failed (${signal ?? `exit code ${code}`})`))));
  });
}

/** The server, the CLI and the libs with tsc, then the web console with Vite into dist/console, which the registry serves. */
async function buildAll(root) {
  await runNode(root, 'nest build', [require.resolve('@nestjs/cli/bin/nest.js', { paths: [root] }), 'build', 'registry']);
  await runNode(root, 'the console build', [
    path.join(path.dirname(require.resolve('vite/package.json', { paths: [root] })), 'bin/vite.js'),
    'build',
    '--config',
    path.join(root, 'apps/console/vite.config.mjs'),
  ]);
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const started = Date.now();
  buildIfStale({
    root,
    outDir: path.join(root, 'dist'),
    build: () => {
      process.stderr.write('building dist/: its sources changed since the last build…\n');
      return buildAll(root);
    },
    onWait: (holder) => process.stderr.write(`waiting for ${holder ? `process ${holder.pid} on ${holder.host}` : 'another process'}, which is building dist/…\n`),
  }).then(
    (built) => built && process.stderr.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`),
    (error) => {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    },
  );
}

module.exports = { acquireLock, buildIfStale, isBuildCurrent, sourceFingerprint };
