import * as ort from 'onnxruntime-node';
import type { TensorSpec } from './onnx-model';
import { float16Bits } from './tensors';

export class OnnxLoadError extends Error {}

export interface SessionOptions {
  /** Threads for one operator; onnxruntime's default is one per core. */
  intraOpThreads?: number;
  /**
   * Whether idle intra-op threads spin waiting for work (onnxruntime's default):
   * faster for one session alone, but two sessions timed in turn in one process
   * then steal each other's cores and their timings stop being comparable.
   */
  allowSpinning?: boolean;
}

export type Feeds = Record<string, ort.Tensor>;
export type Fetches = Record<string, ort.Tensor>;

/** An onnxruntime-node inference session and what the runtime says its inputs and outputs are. */
export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: TensorSpec[],
    readonly outputs: TensorSpec[],
  ) {}

  /** Loads from a file path (so external data resolves beside it) or from bytes. */
  static async load(source: string | Uint8Array, options: SessionOptions = {}): Promise<OnnxSession> {
    // Fatal only: a failing run is reported through its error, not also as a log line on stderr.
    const sessionOptions: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4 };
    if (options.intraOpThreads) sessionOptions.intraOpNumThreads = options.intraOpThreads;
    // A session config key (onnxruntime_session_options_config_keys.h), which the Node binding takes as a string.
    if (options.allowSpinning === false) sessionOptions.extra = { 'session.intra_op.allow_spinning': '0' };
    let session: ort.InferenceSession;
    try {
      session = typeof source === 'string' ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source, sessionOptions);
    } catch (error) {
      throw new OnnxLoadError(`onnxruntime refused the model: ${(error as Error).message}`);
    }
    return new OnnxSession(session, session.inputMetadata.map(specOf), session.outputMetadata.map(specOf));
  }

  run(feeds: Feeds): Promise<Fetches> {
    return this.session.run(withFloat16AsBits(feeds));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

function specOf(metadata: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!metadata.isTensor) return { name: metadata.name, dtype: 'non-tensor', shape: [] };
  return {
    name: metadata.name,
    dtype: metadata.type,
    shape: metadata.shape.map((dim) => (typeof dim === 'string' ? dim || null : dim >= 0 ? dim : null)),
  };
}

/**
 * onnxruntime-node's binding sizes a Float16Array input as 0 bytes and refuses it ("not enough space",
 * microsoft/onnxruntime#32323, open), and onnxruntime-common puts every float16 tensor's data in a Float16Array
 * where node has one (24 on). Such a feed reaches the binding as a tensor of its own whose data are the same bytes
 * as a Uint16Array, which the binding sizes right; the caller's tensor is left as it was.
 */
function withFloat16AsBits(feeds: Feeds): Feeds {
  if (!Object.values(feeds).some((tensor) => tensor.type === 'float16' && !(tensor.data instanceof Uint16Array))) return feeds;
  return Object.fromEntries(
    Object.entries(feeds).map(([name, tensor]) => {
      if (tensor.type !== 'float16' || tensor.data instanceof Uint16Array) return [name, tensor];
      const bits = float16Bits(tensor);
      return [name, Object.defineProperty(new ort.Tensor('float16', bits, tensor.dims), 'data', { value: bits })];
    }),
  );
}
