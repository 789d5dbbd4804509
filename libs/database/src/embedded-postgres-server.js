'use strict';
/*
 * The embedded database's own process: PGlite behind the Postgres wire
 * protocol on a Unix socket. Plain JavaScript so that it can be forked the
 * same way from source (tests) and from dist. Keeping PGlite out of the
 * registry's process keeps its WebAssembly heap (hundreds of MB) and its
 * synchronous query execution off the HTTP server.
 *
 * Protocol over the IPC channel: the parent sends {dataDir, socketPath}; the
 * child answers {ready: true} or {error}; 'stop' (or losing the parent)
 * closes the database cleanly and exits.
 */
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

let running;

async function start({ dataDir, socketPath }) {
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, path: socketPath });
  await server.start();
  running = { db, server };
}

async function stop() {
  if (running) {
    const { db, server } = running;
    running = undefined;
    await server.stop();
    await db.close();
  }
  process.exit(0);
}

process.on('message', (message) => {
  if (message === 'stop') {
    void stop();
    return;
  }
  start(message).then(
    () => process.send({ ready: true }),
    (error) => process.send({ error: error && error.stack ? error.stack : String(error) }, () => process.exit(1)),
  );
});
process.on('disconnect', () => void stop());
// The parent orders shutdown (after closing its connections); a terminal's Ctrl-C reaches both.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop());
