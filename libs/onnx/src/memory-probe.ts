import { spawn } from 'node:child_process';
import type { SessionOptions } from './onnx-session';

/** An input as the probe feeds it: a concrete shape, and the values (flat, row-major; float16 as their bits), or constants it fills in itself. */
export interface ProbeInput {
  name: string;
  dtype: string;
  shape: number[];
  values?: number[];
}

export interface SessionMemory {
  /** Resident set growth from creating the session and running it: what serving the model costs a fresh process. */
  growthBytes: number;
  /** The probe process's resident set before the session was created (node and onnxruntime loaded). */
  rssBeforeBytes: number;
  peakRssBytes: number;
}

/**
 * Runs in a fresh node process: loads onnxruntime, builds the feeds, then
 * measures the resident set growth from creating the session and running it.
 * The peak is the larger of 5 ms samples and the kernel's high-water mark
 * when that rose during the measurement (it also counts node's start-up,
 * so it is only used when it moved).
 */
const PROBE = `
// The request arrives as one line on stdin (inputs can outgrow an argument); the parent then holds stdin open,
// and when it goes away (exit, crash, kill -9) the pipe ends, and so does the probe.
let received = '';
process.stdin.setEncoding('utf8').on('end', () => process.exit(2)).on('data', function read(chunk) {
  received += chunk;
  const end = received.indexOf('\\n');
  if (end < 0) return;
  process.stdin.off('data', read).resume();
  probe(JSON.parse(received.slice(0, end)));
});
function probe(request) {
const ort = require(request.runtime);
const ARRAYS = { float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array };
function tensor(input) {
  const size = input.shape.reduce((product, dim) => product * dim, 1);
  if (input.dtype === 'string') return new ort.Tensor('string', Array.from({ length: size }, () => 'gatehouse'), input.shape);
  const Type = ARRAYS[input.dtype];
  if (!Type) throw new Error('cannot feed inputs of type ' + input.dtype);
  const data = input.values ? Type.from(input.values, Type === BigInt64Array || Type === BigUint64Array ? BigInt : undefined) : new Type(size);
  if (!input.values && input.dtype.startsWith('float')) data.fill(input.dtype === 'float16' ? 0x3800 : 0.5);
  const made = new ort.Tensor(input.dtype, data, input.shape);
  // As OnnxSession.run does: the binding refuses node 24's Float16Array, so a float16 feed keeps its bits' Uint16Array.
  return input.dtype === 'float16' ? Object.defineProperty(made, 'data', { value: data }) : made;
}
(async () => {
  const feeds = Object.fromEntries(request.inputs.map((input) => [input.name, tensor(input)]));
  const options = { logSeverityLevel: 4 };
  if (request.intraOpThreads) options.intraOpNumThreads = request.intraOpThreads;
  const rssBefore = process.memoryUsage.rss();
  const highWaterBefore = process.resourceUsage().maxRSS * 1024;
  let peak = rssBefore;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 5);
  const session = await ort.InferenceSession.create(request.model, options);
  for (let run = 0; run < request.runs; run++) {
    await session.run(feeds);
    peak = Math.max(peak, process.memoryUsage.rss());
  }
  clearInterval(sampler);
  const highWater = process.resourceUsage().maxRSS * 1024;
  if (highWater > highWaterBefore) peak = Math.max(peak, highWater);
  process.stdout.write(JSON.stringify({ growthBytes: Math.max(0, peak - rssBefore), rssBeforeBytes: rssBefore, peakRssBytes: peak }), () => process.exit(0));
})().catch((error) => {
  process.stderr.write(String(error && error.message || error));
  process.exit(1);
});
}
`;

export class MemoryProbeError extends Error {}

/**
 * The memory a model takes to load and run, measured in a short-lived child
 * process so that nothing this process loaded, freed or cached before counts
 * for or against it: a process's resident set rarely shrinks after a release,
 * so two models measured one after the other in one process are not measured
 * alike. Each probe starts from the same state, so probes of two models compare.
 */
export function measureSessionMemory(modelPath: string, options: SessionOptions & { inputs: ProbeInput[]; runs: number; signal?: AbortSignal }): Promise<SessionMemory> {
  const request = { runtime: require.resolve('onnxruntime-node'), model: modelPath, inputs: options.inputs, runs: options.runs, intraOpThreads: options.intraOpThreads ?? 0 };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PROBE], { stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    // A probe that dies before reading its request closes the pipe: its exit code says why, not the write's EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.write(`${JSON.stringify(request)}\n`);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => reject(options.signal?.aborted ? (options.signal.reason as Error) : new MemoryProbeError(`the memory probe could not start: ${error.message}`)));
    child.on('close', (code) => {
      if (options.signal?.aborted) return reject(options.signal.reason as Error);
      if (code !== 0) return reject(new MemoryProbeError(`the memory probe failed: ${stderr.trim() || `exit code ${code}`}`));
      try {
        resolve(JSON.parse(stdout) as SessionMemory);
      } catch {
        reject(new MemoryProbeError(`the memory probe answered ${JSON.stringify(stdout.slice(0, 200))}`));
      }
    });
  });
}
