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
  /** A run taking longer ends in error. */
  timeoutSeconds: number;
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
  trainingExamples: 10_000,
};
