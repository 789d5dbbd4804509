import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SOCKET_PORT = 5432;
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * PGlite behind the Postgres wire protocol on a private Unix socket, in a
 * child process, so the embedded default runs the very same `pg` driver, SQL
 * and migrations as a real Postgres. PGlite is single-session: callers must
 * use one connection.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly child: ChildProcess,
    private readonly socketDir: string,
    private readonly lockFile: string,
  ) {}

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    await mkdir(dirname(dataDir), { recursive: true });
    const lockFile = `${dataDir}.lock`;
    await acquireLock(lockFile, dataDir);
    const socketDir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-'));
    const child = fork(join(__dirname, 'embedded-postgres-server.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`embedded database did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        child.once('message', (message: { ready?: boolean; error?: string }) => {
          clearTimeout(timer);
          if (message.ready) resolve();
          else reject(new Error(`embedded database failed to start: ${message.error}`));
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`embedded database exited with code ${code} while starting`));
        });
        child.send({ dataDir, socketPath: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`) });
      });
    } catch (error) {
      child.kill('SIGKILL');
      await rm(socketDir, { recursive: true, force: true });
      await rm(lockFile, { force: true });
      throw error;
    }
    child.removeAllListeners('exit');
    return new EmbeddedPostgres(child, socketDir, lockFile);
  }

  /** Connection settings for `pg`: a directory host means a Unix socket. */
  get connection(): { host: string; port: number; username: string; database: string } {
    return { host: this.socketDir, port: SOCKET_PORT, username: 'postgres', database: 'postgres' };
  }

  /** The database process, for resource accounting. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Asks the database to close cleanly (flushing to disk), killing it only if it will not. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.send('stop');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.socketDir, { recursive: true, force: true });
    await rm(this.lockFile, { force: true });
  }
}

/** Two processes writing one PGlite directory would corrupt it; refuse the second. */
async function acquireLock(lockFile: string, dataDir: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new Error(`The embedded database ${dataDir} is in use by process ${owner}; stop it first.`);
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new Error(`Could not lock the embedded database ${dataDir}.`);
}

/** Whether process `pid` exists on this host (EPERM: it does, as another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
