import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const SOCKET_PORT = 5432;

/**
 * PGlite behind the Postgres wire protocol on a private Unix socket, so the
 * embedded default runs the very same `pg` driver, SQL and migrations as a
 * real Postgres. PGlite is single-session: callers must use one connection.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly socketDir: string,
    private readonly lockFile: string,
  ) {}

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    await mkdir(dirname(dataDir), { recursive: true });
    const lockFile = `${dataDir}.lock`;
    await acquireLock(lockFile, dataDir);
    const socketDir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-'));
    try {
      const db = await PGlite.create({ dataDir });
      const server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`) });
      await server.start();
      return new EmbeddedPostgres(db, server, socketDir, lockFile);
    } catch (error) {
      await rm(socketDir, { recursive: true, force: true });
      await rm(lockFile, { force: true });
      throw error;
    }
  }

  /** Connection settings for `pg`: a directory host means a Unix socket. */
  get connection(): { host: string; port: number; username: string; database: string } {
    return { host: this.socketDir, port: SOCKET_PORT, username: 'postgres', database: 'postgres' };
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
