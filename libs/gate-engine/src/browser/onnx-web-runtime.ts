import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Browser } from 'playwright-core';

type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A tensor as it crosses into the page and back: Playwright carries typed arrays as they are. */
export interface WireTensor {
  type: string;
  dims: number[];
  data: TensorData;
}

export interface WebModel {
  /** The .onnx file on disk. */
  path: string;
  /** Its external data files: the location the model names -> the file on disk. */
  externalData: Record<string, string>;
}

/** What onnxruntime-web (its version as the page loaded it) did with the model: its outputs, or the stage it refused at and its message. */
type PageRun = { runtime: string } & ({ ok: true; outputs: Record<string, WireTensor> } | { ok: false; stage: 'load' | 'run'; message: string });

/** A page's run and the browser it ran in. */
export type WebRun = PageRun & { browser: string };

/** The WASM backend's entry point and the two files it loads itself (threaded build; the page uses one thread). */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

const PAGE = '<!doctype html><meta charset="utf-8"><title>browser_compat</title><link rel="icon" href="data:,"><script type="module" src="/browser-compat.mjs"></script>';

/**
 * Runs in the page. Threads would need cross-origin isolation for
 * SharedArrayBuffer, and one thread computes the same way every run; the
 * proxy worker would only add a hop. float16 comes back as its bits
 * (Playwright carries no Float16Array).
 */
const PAGE_SCRIPT = `import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
const messageOf = (error) => (error && error.message) || String(error);
const wire = (tensor) => ({
  type: tensor.type,
  dims: [...tensor.dims],
  data: tensor.type === 'float16' ? new Uint16Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.length) : tensor.data,
});
globalThis.gatehouseRun = async ({ externalData, feeds }) => {
  const runtime = ort.env.versions.web;
  let session;
  try {
    session = await ort.InferenceSession.create('/model', { executionProviders: ['wasm'], externalData, logSeverityLevel: 3 });
  } catch (error) {
    return { ok: false, stage: 'load', message: messageOf(error), runtime };
  }
  try {
    const inputs = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, new ort.Tensor(tensor.type, tensor.data, tensor.dims)]));
    const fetched = await session.run(inputs);
    return { ok: true, outputs: Object.fromEntries(Object.entries(fetched).map(([name, tensor]) => [name, wire(tensor)])), runtime };
  } catch (error) {
    return { ok: false, stage: 'run', message: messageOf(error), runtime };
  } finally {
    await session.release();
  }
};
`;

interface PageGlobals {
  gatehouseRun(request: { externalData: { path: string; data: string }[]; feeds: Record<string, WireTensor> }): Promise<PageRun>;
}

/**
 * Loads the model in onnxruntime-web's WASM backend in a fresh browser
 * context and runs it once on the feeds. The page gets everything from a
 * loopback server this call starts: onnxruntime-web's own files from
 * node_modules, the model and its external data streamed from disk. Every
 * other request is refused, so nothing is downloaded at run time.
 */
export async function runInWebRuntime(browser: Browser, model: WebModel, feeds: Record<string, WireTensor>): Promise<WebRun> {
  const externalData = Object.keys(model.externalData).map((location, index) => ({ path: location, data: `/external/${index}` }));
  const files = new Map<string, string>([['/model', model.path]]);
  Object.values(model.externalData).forEach((file, index) => files.set(`/external/${index}`, file));
  const ortDirectory = onnxruntimeWebDirectory();
  for (const name of ORT_FILES) files.set(`/ort/${name}`, join(ortDirectory, name));
  const server = await serve(files);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const context = await browser.newContext();
  try {
    await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient')));
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${new URL(response.url()).pathname}: HTTP ${response.status()}`);
    });
    await page.goto(`${origin}/`);
    if (!(await page.evaluate(() => typeof (globalThis as unknown as Partial<PageGlobals>).gatehouseRun === 'function'))) {
      throw new Error(`the page could not load onnxruntime-web from ${ortDirectory}: ${problems.join('; ') || 'no error reported'}`);
    }
    const result = await page.evaluate((request) => (globalThis as unknown as PageGlobals).gatehouseRun(request), { externalData, feeds });
    return { ...result, browser: browser.version() };
  } finally {
    await context.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Where onnxruntime-web keeps its built files: resolved through the package's own exports, as a bundler would. */
function onnxruntimeWebDirectory(): string {
  return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

/** Serves exactly these paths on 127.0.0.1 (a free port), files streamed from disk; anything else, or a file that cannot be read, is a 404. */
async function serve(files: ReadonlyMap<string, string>): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (path === '/' || path === '/browser-compat.mjs') {
      response.writeHead(200, { 'content-type': path === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8' });
      response.end(path === '/' ? PAGE : PAGE_SCRIPT);
      return;
    }
    const file = files.get(path);
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    stat(file)
      .then(
        (stats) => {
          response.writeHead(200, { 'content-type': contentType(file), 'content-length': stats.size });
          return pipeline(createReadStream(file), response);
        },
        () => response.writeHead(404).end(),
      )
      .catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return server;
}

function contentType(file: string): string {
  if (file.endsWith('.mjs')) return 'text/javascript; charset=utf-8';
  if (file.endsWith('.wasm')) return 'application/wasm';
  return 'application/octet-stream';
}
