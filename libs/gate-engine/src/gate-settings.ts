/** How the engine feeds and runs models; the same for every check of a run. */
export interface GateSettings {
  /** Examples per batch when evaluating on a dataset. */
  batchSize: number;
  /** Batch size of the smoke run on synthesised inputs. */
  smokeBatchSize: number;
  /** Size for symbolic dimensions that are neither the batch nor named in `dimensions`. */
  defaultDimension: number;
  /** Sizes for named symbolic dimensions, e.g. {"seq": 32}. */
  dimensions: Record<string, number>;
  /** Seed for synthesised inputs. */
  seed: number;
  /** onnxruntime intra-op threads; 0 leaves onnxruntime's default. */
  intraOpThreads: number;
  /** Wall-clock limit of a run's sandbox: a run taking longer is stopped and fails. */
  timeoutSeconds: number;
  /** Memory the sandbox may allocate (its private writable memory: heaps, tensors, thread stacks); a run needing more fails. */
  memoryLimitMiB: number;
  /** CPU time of the sandbox process, all its threads together; a run using more is stopped and fails. */
  cpuSeconds: number;
  /** Training examples evaluated (the first ones; 0 = all): training sets can dwarf the held-out data. */
  trainingExamples: number;
}

export const DEFAULT_GATE_SETTINGS: GateSettings = {
  batchSize: 64,
  smokeBatchSize: 2,
  defaultDimension: 16,
  dimensions: {},
  seed: 20_26,
  intraOpThreads: 0,
  timeoutSeconds: 600,
  // Measured: node, onnxruntime and the engine take about 150 MiB; a 150 MiB model (one MatMul) through the registration
  // checks needs between 768 MiB (where loading it fails) and 1 GiB; onnxruntime adds an 8 MiB stack per thread, 512 MiB on 64 cores.
  memoryLimitMiB: 4096,
  // Three times the timeout: onnxruntime runs a model on every core, so CPU time outgrows wall-clock time.
  cpuSeconds: 1800,
  trainingExamples: 10_000,
};
